//! Composing components with the wac libraries (no shell-out to `wac`).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use indexmap::IndexMap;
use wac_parser::Document;
use wac_types::BorrowedPackageKey;

/// Composes the `.wac` file at `wac` with `packages` (a package name such as
/// `edgeplug:counter`, and the component that provides it) into a component.
pub fn compose(wac: &Path, packages: &[(&str, PathBuf)]) -> anyhow::Result<Vec<u8>> {
    let source =
        std::fs::read_to_string(wac).with_context(|| format!("cannot read {}", wac.display()))?;
    compose_source(&source, packages).with_context(|| format!("cannot compose {}", wac.display()))
}

/// [`compose`] over WAC source text.
pub fn compose_source(source: &str, packages: &[(&str, PathBuf)]) -> anyhow::Result<Vec<u8>> {
    let document = Document::parse(source).map_err(|e| anyhow!("{e}"))?;
    let mut bytes = IndexMap::new();
    for (name, path) in packages {
        let component =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        bytes.insert(
            BorrowedPackageKey::from_name_and_version(name, None),
            component,
        );
    }
    let resolution = document.resolve(bytes).map_err(|e| anyhow!("{e}"))?;
    resolution
        .encode(wac_graph::EncodeOptions::default())
        .map_err(|e| anyhow!("{e}"))
}
