//! Validating components and reading their worlds with wasmparser.

use std::path::Path;

use anyhow::{Context as _, bail};
use wasmparser::{Encoding, Parser, Payload, Validator, WasmFeatures};

/// Validates the component at `path` with every feature wasmtime may use.
pub fn validate(path: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Validator::new_with_features(WasmFeatures::all())
        .validate_all(&bytes)
        .with_context(|| format!("{} is not a valid component", path.display()))?;
    Ok(())
}

/// The names a component imports and exports at its top level.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct World {
    /// Import names, such as `wasi:keyvalue/store@0.2.0-draft`.
    pub imports: Vec<String>,
    /// Export names, such as `wasi:http/incoming-handler@0.2.6`.
    pub exports: Vec<String>,
}

/// Reads the top-level imports and exports of a component.
pub fn world_of(bytes: &[u8]) -> anyhow::Result<World> {
    let mut world = World::default();
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload? {
            Payload::Version { encoding, .. } => {
                depth += 1;
                if depth == 1 && encoding != Encoding::Component {
                    bail!("this is a core module, not a component");
                }
            }
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(section) if depth == 1 => {
                for import in section {
                    world.imports.push(import?.name.name.to_owned());
                }
            }
            Payload::ComponentExportSection(section) if depth == 1 => {
                for export in section {
                    world.exports.push(export?.name.name.to_owned());
                }
            }
            _ => {}
        }
    }
    Ok(world)
}

/// The one export a composed worker has.
pub const HTTP_HANDLER: &str = "wasi:http/incoming-handler@0.2.6";

/// Checks the portable worker's world: it exports the HTTP handler and
/// imports only `wasi:*` interfaces — an `edgeplug:*` import left over would
/// mean a component was not wired in.
pub fn check_portable_world(world: &World) -> anyhow::Result<()> {
    if !world.exports.iter().any(|e| e == HTTP_HANDLER) {
        bail!(
            "it does not export {HTTP_HANDLER} (exports: {:?})",
            world.exports
        );
    }
    if let Some(bad) = world.imports.iter().find(|i| !i.starts_with("wasi:")) {
        bail!("it imports `{bad}`, which no host provides: only wasi:* imports may remain");
    }
    Ok(())
}

/// The WASI p2 packages FastEdge's Wasmtime 36 host links.
pub const FASTEDGE_WASI_PACKAGES: [&str; 7] = [
    "cli",
    "clocks",
    "filesystem",
    "http",
    "io",
    "random",
    "sockets",
];

/// The highest WASI 0.2 patch version FastEdge's host links.
pub const FASTEDGE_MAX_WASI_PATCH: u64 = 6;

/// The `gcore:fastedge` interfaces FastEdge's host links (unversioned);
/// `http` and `cache-types` only carry the types the others use.
pub const FASTEDGE_INTERFACES: [&str; 8] = [
    "cache-sync",
    "cache-types",
    "dictionary",
    "http",
    "http-client",
    "key-value",
    "secret",
    "utils",
];

/// Why FastEdge would refuse to link `import`, or `None` when it links it:
/// a WASI p2 interface at `0.2.0` to `0.2.6`, or an unversioned
/// `gcore:fastedge/*` interface.
pub fn fastedge_refusal(import: &str) -> Option<String> {
    if let Some(interface) = import.strip_prefix("gcore:fastedge/") {
        return (!FASTEDGE_INTERFACES.contains(&interface)).then(|| {
            format!("FastEdge provides no gcore:fastedge interface `{interface}` (unversioned names only)")
        });
    }
    let Some(rest) = import.strip_prefix("wasi:") else {
        return Some(
            "FastEdge links only wasi:* (WASI p2) and gcore:fastedge/* imports".to_owned(),
        );
    };
    let (path, version) = rest.split_once('@').unwrap_or((rest, ""));
    let package = path.split('/').next().unwrap_or_default();
    if !FASTEDGE_WASI_PACKAGES.contains(&package) {
        return Some(format!(
            "FastEdge's host does not provide wasi:{package} (only WASI p2: {})",
            FASTEDGE_WASI_PACKAGES.join(", ")
        ));
    }
    let patch = version
        .strip_prefix("0.2.")
        .and_then(|patch| patch.parse::<u64>().ok());
    match patch {
        Some(patch) if patch <= FASTEDGE_MAX_WASI_PATCH => None,
        _ => Some(format!(
            "version `{version}` is not one FastEdge's Wasmtime 36 host links (0.2.0 to 0.2.{FASTEDGE_MAX_WASI_PATCH})"
        )),
    }
}

/// Checks the FastEdge worker's world against what FastEdge links: every
/// import passes [`fastedge_refusal`], and the only export is
/// `wasi:http/incoming-handler@0.2.x` (x <= 6). The error names the first
/// offending import or export.
pub fn check_fastedge_world(world: &World) -> anyhow::Result<()> {
    for import in &world.imports {
        if let Some(reason) = fastedge_refusal(import) {
            bail!("it imports `{import}`, which FastEdge cannot link: {reason}");
        }
    }
    let handler = |e: &String| {
        e.strip_prefix("wasi:http/incoming-handler@0.2.")
            .and_then(|patch| patch.parse::<u64>().ok())
            .is_some_and(|patch| patch <= FASTEDGE_MAX_WASI_PATCH)
    };
    match world.exports.as_slice() {
        [only] if handler(only) => Ok(()),
        exports => bail!(
            "FastEdge's wasi-http app type needs exactly one export, wasi:http/incoming-handler@0.2.x (x <= {FASTEDGE_MAX_WASI_PATCH}); it exports {exports:?}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world(imports: &[&str], exports: &[&str]) -> World {
        World {
            imports: imports.iter().map(|s| s.to_string()).collect(),
            exports: exports.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn a_worker_with_wasi_imports_only_passes() {
        let w = world(
            &["wasi:keyvalue/store@0.2.0-draft", "wasi:io/streams@0.2.6"],
            &[HTTP_HANDLER],
        );
        assert!(check_portable_world(&w).is_ok());
    }

    #[test]
    fn an_unsatisfied_edgeplug_import_fails_and_is_named() {
        let w = world(&["edgeplug:worker/counter@0.1.0"], &[HTTP_HANDLER]);
        let error = check_portable_world(&w).unwrap_err().to_string();
        assert!(error.contains("edgeplug:worker/counter@0.1.0"), "{error}");
    }

    #[test]
    fn a_worker_without_the_handler_fails() {
        let w = world(
            &["wasi:io/streams@0.2.6"],
            &["edgeplug:worker/counter@0.1.0"],
        );
        assert!(check_portable_world(&w).is_err());
    }
    #[test]
    fn a_fastedge_worker_with_wasi_p2_and_gcore_imports_passes() {
        let w = world(
            &[
                "wasi:io/streams@0.2.6",
                "wasi:cli/environment@0.2.0",
                "wasi:http/outgoing-handler@0.2.6",
                "gcore:fastedge/cache-types",
                "gcore:fastedge/cache-sync",
                "gcore:fastedge/key-value",
                "gcore:fastedge/secret",
                "gcore:fastedge/dictionary",
            ],
            &[HTTP_HANDLER],
        );
        check_fastedge_world(&w).unwrap();
    }

    #[test]
    fn a_surviving_keyvalue_import_fails_the_fastedge_check_and_is_named() {
        let w = world(
            &["wasi:io/streams@0.2.6", "wasi:keyvalue/store@0.2.0-draft"],
            &[HTTP_HANDLER],
        );
        let error = check_fastedge_world(&w).unwrap_err().to_string();
        assert!(
            error.contains("`wasi:keyvalue/store@0.2.0-draft`"),
            "{error}"
        );
        assert!(error.contains("FastEdge"), "{error}");
    }

    #[test]
    fn a_surviving_config_import_fails_the_fastedge_check_and_is_named() {
        let w = world(&["wasi:config/store@0.2.0-rc.1"], &[HTTP_HANDLER]);
        let error = check_fastedge_world(&w).unwrap_err().to_string();
        assert!(error.contains("`wasi:config/store@0.2.0-rc.1`"), "{error}");
    }

    #[test]
    fn wasi_newer_than_0_2_6_or_not_0_2_fails_the_fastedge_check() {
        for import in [
            "wasi:io/streams@0.2.7",
            "wasi:io/streams@0.3.0",
            "wasi:io/streams@0.2.0-rc-2023-11-10",
            "wasi:io/streams",
        ] {
            let w = world(&[import], &[HTTP_HANDLER]);
            let error = check_fastedge_world(&w).unwrap_err().to_string();
            assert!(error.contains(import), "{error}");
        }
    }

    #[test]
    fn foreign_or_versioned_gcore_imports_fail_the_fastedge_check() {
        for import in [
            "edgeplug:worker/counter@0.1.0",
            "gcore:fastedge/cache-sync@0.1.0",
            "gcore:fastedge/nope",
            "fermyon:spin/key-value@2.0.0",
        ] {
            let w = world(&[import], &[HTTP_HANDLER]);
            let error = check_fastedge_world(&w).unwrap_err().to_string();
            assert!(error.contains(import), "{error}");
        }
    }

    #[test]
    fn a_fastedge_worker_must_export_the_handler_only() {
        let extra = world(&[], &[HTTP_HANDLER, "edgeplug:worker/counter@0.1.0"]);
        assert!(check_fastedge_world(&extra).is_err());
        assert!(check_fastedge_world(&world(&[], &[])).is_err());
        let newer = world(&[], &["wasi:http/incoming-handler@0.2.7"]);
        assert!(check_fastedge_world(&newer).is_err());
    }
}
