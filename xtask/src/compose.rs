//! Composing components with the wac libraries (no shell-out to `wac`).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use indexmap::IndexMap;
use wac_parser::Document;
use wac_types::BorrowedPackageKey;

/// A composed component, and which of the packages offered it used.
pub struct Composed {
    /// The encoded component.
    pub bytes: Vec<u8>,
    /// The names of the packages the `.wac` named, in the order it named
    /// them; packages offered but never named are not parsed, nor listed.
    pub used: Vec<String>,
}

/// Composes the `.wac` file at `wac` with `packages` (a package name such as
/// `edgeplug:counter`, and the component that provides it) into a component.
pub fn compose<S: AsRef<str>>(wac: &Path, packages: &[(S, PathBuf)]) -> anyhow::Result<Vec<u8>> {
    compose_reporting(wac, packages).map(|composed| composed.bytes)
}

/// [`compose`], also saying which packages the `.wac` used.
pub fn compose_reporting<S: AsRef<str>>(
    wac: &Path,
    packages: &[(S, PathBuf)],
) -> anyhow::Result<Composed> {
    let source =
        std::fs::read_to_string(wac).with_context(|| format!("cannot read {}", wac.display()))?;
    compose_source_reporting(&source, packages)
        .with_context(|| format!("cannot compose {}", wac.display()))
}

/// [`compose_reporting`] over WAC source text. A resolution error keeps its
/// type (`wac_parser::resolution::Error`) so that callers can add advice.
pub fn compose_source_reporting<S: AsRef<str>>(
    source: &str,
    packages: &[(S, PathBuf)],
) -> anyhow::Result<Composed> {
    let document = Document::parse(source).map_err(|e| anyhow!("{e}"))?;
    let mut bytes = IndexMap::new();
    for (name, path) in packages {
        let component =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        // A later entry of the same name replaces an earlier one.
        bytes.insert(
            BorrowedPackageKey::from_name_and_version(name.as_ref(), None),
            component,
        );
    }
    // wac takes only the packages the document names out of `bytes`, when
    // it meets them; the rest are dropped unparsed, so offering extra
    // packages costs their reading only.
    let resolution = document.resolve(bytes)?;
    let used = resolution
        .graph()
        .packages()
        .map(|package| package.name().to_owned())
        .collect();
    let bytes = resolution.encode(wac_graph::EncodeOptions::default())?;
    Ok(Composed { bytes, used })
}
