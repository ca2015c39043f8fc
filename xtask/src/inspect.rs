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
}
