//! Validating components and reading their worlds with wasmparser.

use std::path::Path;

use anyhow::{Context as _, bail};
use wasmparser::{Encoding, Parser, Payload, Validator, WasmFeatures};

/// Validates the component at `path` with every feature wasmtime may use.
pub fn validate(path: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    validate_bytes(&bytes).with_context(|| format!("{} is not a valid component", path.display()))
}

/// Validates a component in memory with every feature wasmtime may use.
pub fn validate_bytes(bytes: &[u8]) -> anyhow::Result<()> {
    Validator::new_with_features(WasmFeatures::all()).validate_all(bytes)?;
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

/// The one export edgeplug's own composed workers have (Rust 1.95's wasip2
/// std is WASI 0.2.6).
pub const HTTP_HANDLER: &str = "wasi:http/incoming-handler@0.2.6";

/// The interface every worker exports, without its version.
const HANDLER_INTERFACE: &str = "wasi:http/incoming-handler";

/// A platform a composed worker is checked against, by what its host links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Platform {
    /// Gcore FastEdge's wasi-http app type (Wasmtime 36): WASI p2 0.2.0 to
    /// 0.2.6 and `gcore:fastedge/*`.
    Fastedge,
    /// A wasi-http host like edgeplug's own (`cargo xtask serve`, Wasmtime
    /// 48): WASI p2 0.2.0 to 0.2.12, `wasi:keyvalue/{store,atomics}` and
    /// `wasi:config/store`.
    Portable,
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Platform::Fastedge => "FastEdge",
            Platform::Portable => "a portable wasi-http host",
        })
    }
}

impl Platform {
    /// The highest WASI 0.2 patch version the platform's host links, for
    /// imports and for the handler it calls.
    pub fn max_wasi_patch(self) -> u64 {
        match self {
            Platform::Fastedge => FASTEDGE_MAX_WASI_PATCH,
            Platform::Portable => PORTABLE_MAX_WASI_PATCH,
        }
    }

    /// Why the platform's host would refuse to link `import`, or `None`
    /// when it links it.
    pub fn import_refusal(self, import: &str) -> Option<String> {
        match self {
            Platform::Fastedge => fastedge_refusal(import),
            Platform::Portable => portable_refusal(import),
        }
    }
}

/// The WASI p2 packages both platforms' hosts link (Wasmtime's
/// `wasmtime-wasi` and `wasmtime-wasi-http`).
pub const WASI_P2_PACKAGES: [&str; 7] = [
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

/// The highest WASI 0.2 patch version edgeplug's host (Wasmtime 48) links.
/// Older wasi-http hosts link fewer: a worker for FastEdge too keeps to
/// [`FASTEDGE_MAX_WASI_PATCH`].
pub const PORTABLE_MAX_WASI_PATCH: u64 = 12;

/// The proposals' interfaces a portable host links besides WASI p2, at the
/// exact (pre-release) versions edgeplug's host and `wasmtime serve -S
/// keyvalue -S config` implement.
pub const PORTABLE_PROPOSAL_INTERFACES: [&str; 3] = [
    "wasi:keyvalue/store@0.2.0-draft",
    "wasi:keyvalue/atomics@0.2.0-draft",
    "wasi:config/store@0.2.0-rc.1",
];

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

/// Why a host linking WASI p2 0.2.0 to 0.2.`max_patch` would refuse the
/// WASI p2 import `import` (`wasi:<package>/<interface>@<version>`), or
/// `None` when it links it. `host` names the host in the reason.
fn wasi_p2_refusal(host: &str, import: &str, max_patch: u64) -> Option<String> {
    let Some(rest) = import.strip_prefix("wasi:") else {
        return Some(format!("{host} links only wasi:* interfaces here"));
    };
    let (path, version) = rest.split_once('@').unwrap_or((rest, ""));
    let package = path.split('/').next().unwrap_or_default();
    if !WASI_P2_PACKAGES.contains(&package) {
        return Some(format!(
            "{host} does not provide wasi:{package} (WASI p2: {})",
            WASI_P2_PACKAGES.join(", ")
        ));
    }
    // wasi-http hosts provide the types and the outgoing handler; the
    // incoming handler is what they call, never what they give.
    if path == "http/incoming-handler" {
        return Some(format!(
            "{host} calls the incoming handler and provides none: wire this import to a component that exports it"
        ));
    }
    let patch = version
        .strip_prefix("0.2.")
        .and_then(|patch| patch.parse::<u64>().ok());
    match patch {
        Some(patch) if patch <= max_patch => None,
        _ => Some(format!(
            "version `{version}` is not one {host} links (0.2.0 to 0.2.{max_patch})"
        )),
    }
}

/// Why FastEdge would refuse to link `import`, or `None` when it links it:
/// a WASI p2 interface at `0.2.0` to `0.2.6` (not the incoming handler,
/// which FastEdge calls), or an unversioned `gcore:fastedge/*` interface.
pub fn fastedge_refusal(import: &str) -> Option<String> {
    if let Some(interface) = import.strip_prefix("gcore:fastedge/") {
        return (!FASTEDGE_INTERFACES.contains(&interface)).then(|| {
            format!("FastEdge provides no gcore:fastedge interface `{interface}` (unversioned names only)")
        });
    }
    if !import.starts_with("wasi:") {
        return Some(
            "FastEdge links only wasi:* (WASI p2) and gcore:fastedge/* imports".to_owned(),
        );
    }
    wasi_p2_refusal("FastEdge's host", import, FASTEDGE_MAX_WASI_PATCH)
}

/// Why a portable wasi-http host would refuse to link `import`, or `None`
/// when it links it: a WASI p2 interface at `0.2.0` to `0.2.12` (not the
/// incoming handler, which the host calls), or one of
/// [`PORTABLE_PROPOSAL_INTERFACES`].
pub fn portable_refusal(import: &str) -> Option<String> {
    if PORTABLE_PROPOSAL_INTERFACES.contains(&import) {
        return None;
    }
    if !import.starts_with("wasi:") {
        return Some(
            "no host provides it: only wasi:* imports may remain (an edgeplug:* or other import means a component was not wired in)".to_owned(),
        );
    }
    if import.starts_with("wasi:keyvalue/") || import.starts_with("wasi:config/") {
        return Some(format!(
            "the portable host provides only {}",
            PORTABLE_PROPOSAL_INTERFACES.join(", ")
        ));
    }
    wasi_p2_refusal("a wasi-http host", import, PORTABLE_MAX_WASI_PATCH)
}

/// Every way `world` does not fit `platform`, one sentence each: each
/// import the platform's host cannot link, and each export but the one
/// `wasi:http/incoming-handler@0.2.x` (x no higher than the host links).
pub fn world_problems(platform: Platform, world: &World) -> Vec<String> {
    let mut problems: Vec<String> = world
        .imports
        .iter()
        .filter_map(|import| {
            platform.import_refusal(import).map(|reason| {
                format!("it imports `{import}`, which {platform} cannot link: {reason}")
            })
        })
        .collect();
    let max_patch = platform.max_wasi_patch();
    let is_handler = |export: &str| {
        export
            .strip_prefix(HANDLER_INTERFACE)
            .and_then(|version| version.strip_prefix("@0.2."))
            .and_then(|patch| patch.parse::<u64>().ok())
            .is_some_and(|patch| patch <= max_patch)
    };
    // The first handler is the worker's; anything else is one export too many.
    let handler = world.exports.iter().position(|e| is_handler(e));
    for (i, export) in world.exports.iter().enumerate() {
        if Some(i) != handler {
            problems.push(format!(
                "it exports `{export}`, which {platform} does not take: a worker's only export is {HANDLER_INTERFACE}@0.2.x (x <= {max_patch})"
            ));
        }
    }
    if handler.is_none() {
        problems.push(format!(
            "it does not export {HANDLER_INTERFACE}@0.2.x (x <= {max_patch}), which {platform} calls (exports: {:?})",
            world.exports
        ));
    }
    problems
}

/// What to do about the imports `platform` refused, when there is a usual
/// remedy.
fn hints(platform: Platform, world: &World) -> Vec<String> {
    let refused: Vec<&str> = world
        .imports
        .iter()
        .map(String::as_str)
        .filter(|import| platform.import_refusal(import).is_some())
        .collect();
    let any = |prefix: &str| refused.iter().any(|import| import.starts_with(prefix));
    let mut hints = Vec::new();
    if platform == Platform::Fastedge && any("wasi:keyvalue/") {
        hints.push(
            "hint: wire the wasi:keyvalue imports to edgeplug:fastedge-kv (`let kv = new edgeplug:fastedge-kv { ... };`, then pass `kv[\"wasi:keyvalue/store@0.2.0-draft\"]` and `kv[\"wasi:keyvalue/atomics@0.2.0-draft\"]`), as compose/worker-fastedge.wac does".to_owned(),
        );
    }
    if platform == Platform::Fastedge && any("wasi:config/") {
        hints.push(
            "hint: wire the wasi:config imports to edgeplug:fastedge-config (`let config = new edgeplug:fastedge-config { ... };`, then pass `config[\"wasi:config/store@0.2.0-rc.1\"]`), as compose/worker-fastedge.wac does".to_owned(),
        );
    }
    if refused
        .iter()
        .any(|import| !import.starts_with("wasi:") && !import.starts_with("gcore:"))
    {
        hints.push(
            "hint: an import that is not the platform's must be satisfied inside the composition: instantiate the component that exports it and pass its export to the instance that imports it".to_owned(),
        );
    }
    hints
}

/// Checks `world` against `platform`'s rules ([`world_problems`]); the
/// error names every import and export that does not fit, and why, then
/// the usual remedies.
pub fn check_world(platform: Platform, world: &World) -> anyhow::Result<()> {
    let problems = world_problems(platform, world);
    let mut message = match problems.as_slice() {
        [] => return Ok(()),
        [only] => only.clone(),
        all => format!(
            "{} problems:\n{}",
            all.len(),
            all.iter()
                .map(|problem| format!("- {problem}"))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    };
    for hint in hints(platform, world) {
        message.push('\n');
        message.push_str(&hint);
    }
    bail!("{message}")
}

/// Checks the portable worker's world: [`Platform::Portable`]'s rules, and
/// the one export is exactly [`HTTP_HANDLER`], the version edgeplug's
/// components are built with. An `edgeplug:*` import left over would mean
/// a component was not wired in.
pub fn check_portable_world(world: &World) -> anyhow::Result<()> {
    check_world(Platform::Portable, world)?;
    if world.exports != [HTTP_HANDLER] {
        bail!(
            "it does not export {HTTP_HANDLER} (exports: {:?})",
            world.exports
        );
    }
    Ok(())
}

/// Checks a global worker's world (`compose/worker-global.wac`): the
/// portable worker's checks ([`check_portable_world`]), and no
/// `wasi:keyvalue` import at all. Its counters live in the central Redis
/// behind edgeplug:redis-rest-kv; a `wasi:keyvalue` import left over would
/// quietly keep them in each host's own store instead. The error names
/// every such import.
pub fn check_global_world(world: &World) -> anyhow::Result<()> {
    check_portable_world(world)?;
    let kv: Vec<String> = world
        .imports
        .iter()
        .filter(|import| import.starts_with("wasi:keyvalue/"))
        .map(|import| format!("`{import}`"))
        .collect();
    if !kv.is_empty() {
        bail!(
            "it imports {}, which a global worker must not: its counters belong in the central Redis\n\
             hint: wire the wasi:keyvalue imports to edgeplug:redis-rest-kv (`let kv = new edgeplug:redis-rest-kv {{ ... }};`, then pass `kv[\"wasi:keyvalue/store@0.2.0-draft\"]` and `kv[\"wasi:keyvalue/atomics@0.2.0-draft\"]`), as compose/worker-global.wac does",
            kv.join(", ")
        );
    }
    Ok(())
}

/// Checks the FastEdge worker's world against what FastEdge links
/// ([`Platform::Fastedge`]'s rules): every import passes
/// [`fastedge_refusal`], and the only export is
/// `wasi:http/incoming-handler@0.2.x` (x <= 6). The error names every
/// offending import and export.
pub fn check_fastedge_world(world: &World) -> anyhow::Result<()> {
    check_world(Platform::Fastedge, world)
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

    #[test]
    fn every_refused_import_and_export_is_named_with_the_kv_hint() {
        let w = world(
            &[
                "wasi:io/streams@0.2.6",
                "wasi:keyvalue/store@0.2.0-draft",
                "wasi:keyvalue/atomics@0.2.0-draft",
                "edgeplug:worker/counter@0.1.0",
            ],
            &[HTTP_HANDLER, "edgeplug:worker/uploader@0.1.0"],
        );
        let error = check_fastedge_world(&w).unwrap_err().to_string();
        for name in [
            "`wasi:keyvalue/store@0.2.0-draft`",
            "`wasi:keyvalue/atomics@0.2.0-draft`",
            "`edgeplug:worker/counter@0.1.0`",
            "`edgeplug:worker/uploader@0.1.0`",
        ] {
            assert!(error.contains(name), "{name}: {error}");
        }
        assert!(!error.contains("`wasi:io/streams"), "{error}");
        assert!(error.contains("4 problems"), "{error}");
        assert!(error.contains("edgeplug:fastedge-kv"), "{error}");
        assert!(!error.contains("edgeplug:fastedge-config"), "{error}");
    }

    #[test]
    fn the_portable_platform_links_wasi_p2_up_to_0_2_12_and_the_host_proposals() {
        let w = world(
            &[
                "wasi:io/streams@0.2.12",
                "wasi:http/outgoing-handler@0.2.0",
                "wasi:keyvalue/store@0.2.0-draft",
                "wasi:keyvalue/atomics@0.2.0-draft",
                "wasi:config/store@0.2.0-rc.1",
            ],
            &["wasi:http/incoming-handler@0.2.3"],
        );
        check_world(Platform::Portable, &w).unwrap();
        // edgeplug's own worker is held to the exact handler it is built with.
        assert!(check_portable_world(&w).is_err());
    }

    #[test]
    fn the_portable_platform_refuses_what_a_wasi_http_host_does_not_provide() {
        for import in [
            "wasi:io/streams@0.2.13",
            "wasi:io/streams@0.3.0",
            "wasi:keyvalue/batch@0.2.0-draft",
            "wasi:keyvalue/store@0.2.0",
            "wasi:config/store@0.2.0-draft",
            "wasi:nn/graph@0.2.0",
            "wasi:http/incoming-handler@0.2.6",
            "gcore:fastedge/key-value",
        ] {
            let w = world(&[import], &[HTTP_HANDLER]);
            let error = check_world(Platform::Portable, &w).unwrap_err().to_string();
            assert!(error.contains(&format!("`{import}`")), "{error}");
        }
    }

    #[test]
    fn neither_platform_provides_the_incoming_handler_as_an_import() {
        let w = world(&["wasi:http/incoming-handler@0.2.6"], &[HTTP_HANDLER]);
        assert!(check_fastedge_world(&w).is_err());
        assert!(check_portable_world(&w).is_err());
    }

    #[test]
    fn a_global_worker_imports_no_keyvalue_at_all() {
        let global = world(
            &[
                "wasi:io/streams@0.2.6",
                "wasi:http/outgoing-handler@0.2.6",
                "wasi:config/store@0.2.0-rc.1",
            ],
            &[HTTP_HANDLER],
        );
        check_global_world(&global).unwrap();
        let leftover = world(
            &[
                "wasi:http/outgoing-handler@0.2.6",
                "wasi:keyvalue/store@0.2.0-draft",
                "wasi:keyvalue/atomics@0.2.0-draft",
            ],
            &[HTTP_HANDLER],
        );
        // The portable rules accept it; the global rule does not.
        check_portable_world(&leftover).unwrap();
        let error = check_global_world(&leftover).unwrap_err().to_string();
        assert!(
            error.contains("`wasi:keyvalue/store@0.2.0-draft`")
                && error.contains("`wasi:keyvalue/atomics@0.2.0-draft`"),
            "{error}"
        );
        assert!(error.contains("edgeplug:redis-rest-kv"), "{error}");
        // What the portable rules refuse, the global check refuses too.
        let unwired = world(&["edgeplug:worker/counter@0.1.0"], &[HTTP_HANDLER]);
        assert!(check_global_world(&unwired).is_err());
    }

    #[test]
    fn a_portable_worker_must_export_the_handler_only() {
        let extra = world(&[], &[HTTP_HANDLER, "edgeplug:worker/counter@0.1.0"]);
        let error = check_world(Platform::Portable, &extra)
            .unwrap_err()
            .to_string();
        assert!(error.contains("`edgeplug:worker/counter@0.1.0`"), "{error}");
        assert!(check_portable_world(&extra).is_err());
        assert!(check_world(Platform::Portable, &world(&[], &[])).is_err());
    }
}
