//! Building the components and the composed workers.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::inspect::Platform;
use crate::{compose, inspect, optimize, user_compose, workspace};

/// The guest crates, in the order they are reported.
pub const COMPONENTS: [&str; 3] = ["counter", "uploader", "entry"];

/// The adapter crates (built like the components): FastEdge's two, and
/// redis-rest-kv, the global flavors' `wasi:keyvalue` over outgoing HTTP.
pub const ADAPTERS: [&str; 3] = ["fastedge-kv", "fastedge-config", "redis-rest-kv"];

/// The example crates in `examples/` that are components (built like the
/// components, with the same profile).
pub const EXAMPLES: [&str; 3] = ["rate-limiter", "weather-cache", "browser-upload"];

/// Components built only for host-test's own tests (never composed or
/// shipped): `misbehave` loops or allocates on request.
pub const TEST_COMPONENTS: [&str; 1] = ["misbehave"];

/// The cargo profile components are built with (small and fast; see the
/// workspace `Cargo.toml`).
const PROFILE: &str = "component";

/// What `build::all` wrote.
pub struct Outputs {
    /// The portable composed worker.
    pub worker: PathBuf,
    /// The FastEdge composed worker.
    pub fastedge_worker: PathBuf,
    /// The portable worker with global counters (redis-rest-kv).
    pub global_worker: PathBuf,
    /// The FastEdge worker with global counters.
    pub fastedge_global_worker: PathBuf,
}

/// Builds every component, composes the portable worker, validates all of
/// them, checks the worker's world and prints the sizes.
pub fn all(root: &Path) -> anyhow::Result<Outputs> {
    workspace::ensure_wasm_target()?;
    optimize::ensure_wasm_opt()?;
    let mut cargo = workspace::cargo(root);
    cargo.args(["build", "--target", "wasm32-wasip2", "--profile", PROFILE]);
    for name in COMPONENTS
        .into_iter()
        .chain(ADAPTERS)
        .chain(EXAMPLES)
        .chain(TEST_COMPONENTS)
    {
        cargo.args(["-p", name]);
    }
    workspace::run(&mut cargo)?;

    let built = workspace::target_dir(root)
        .join("wasm32-wasip2")
        .join(PROFILE);
    let out = workspace::output_dir(root);
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut written = Vec::new();
    for name in COMPONENTS
        .into_iter()
        .chain(ADAPTERS)
        .chain(TEST_COMPONENTS)
    {
        written.push(copy_built(built.as_path(), &out, name)?);
    }

    let worker = out.join("worker.wasm");
    let bytes = compose_into(
        &worker,
        &root.join("compose/worker.wac"),
        &[
            ("edgeplug:counter", out.join("counter.wasm")),
            ("edgeplug:uploader", out.join("uploader.wasm")),
            ("edgeplug:entry", out.join("entry.wasm")),
        ],
    )?;
    inspect::check_portable_world(&inspect::world_of(&bytes)?).with_context(|| {
        format!(
            "{} does not have the portable worker's world",
            worker.display()
        )
    })?;
    written.push(worker.clone());

    let fastedge_worker = fastedge_worker(root, &out, &bytes)?;
    written.push(fastedge_worker.clone());
    let global_worker = global_worker(root, &out, &bytes)?;
    written.push(global_worker.clone());
    let fastedge_global_worker = fastedge_global_worker(root, &out)?;
    written.push(fastedge_global_worker.clone());
    written.extend(examples(root, &built, &out)?);

    println!("xtask: built and validated");
    for path in &written {
        let size = std::fs::metadata(path)?.len();
        println!("  {:>10} bytes  {}", size, path.display());
    }
    Ok(Outputs {
        worker,
        fastedge_worker,
        global_worker,
        fastedge_global_worker,
    })
}

/// Writes crate `name`'s artifact from `built` to `out/<name>.wasm`,
/// optimized with `wasm-opt`, and validates it.
fn copy_built(built: &Path, out: &Path, name: &str) -> anyhow::Result<PathBuf> {
    // Cargo names the artifact after the crate, with `_` for `-`.
    let from = built.join(format!("{}.wasm", name.replace('-', "_")));
    let to = out.join(format!("{name}.wasm"));
    optimize::component(&from, &to)?;
    inspect::validate(&to)?;
    Ok(to)
}

/// Composes `wac` from `packages` into `to`, validates it, and returns its
/// bytes for the world checks.
fn compose_into(to: &Path, wac: &Path, packages: &[(&str, PathBuf)]) -> anyhow::Result<Vec<u8>> {
    let bytes = compose::compose(wac, packages)?;
    std::fs::write(to, &bytes).with_context(|| format!("cannot write {}", to.display()))?;
    inspect::validate(to)?;
    Ok(bytes)
}

/// Composes `worker-fastedge.wasm` from the components and the adapters in
/// `out` through the path users' compositions take
/// ([`user_compose::compose_to`]: validated and checked against
/// FastEdge's rules), and writes it only when it passes. `portable` (the
/// portable worker) must fail that check: proof that the check still bites.
fn fastedge_worker(root: &Path, out: &Path, portable: &[u8]) -> anyhow::Result<PathBuf> {
    let worker = out.join("worker-fastedge.wasm");
    user_compose::compose_to(
        &root.join("compose/worker-fastedge.wac"),
        Platform::Fastedge,
        &user_compose::default_packages(out),
        &worker,
    )?;
    if inspect::check_fastedge_world(&inspect::world_of(portable)?).is_ok() {
        anyhow::bail!(
            "the FastEdge import check accepted the portable worker, which imports wasi:keyvalue: the check is broken"
        );
    }
    Ok(worker)
}

/// The packages `compose/worker-global.wac` names, from `out`.
fn global_worker_packages(out: &Path) -> [(&'static str, PathBuf); 4] {
    [
        ("edgeplug:counter", out.join("counter.wasm")),
        ("edgeplug:uploader", out.join("uploader.wasm")),
        ("edgeplug:entry", out.join("entry.wasm")),
        ("edgeplug:redis-rest-kv", out.join("redis-rest-kv.wasm")),
    ]
}

/// Composes `worker-global.wasm` (the portable worker with the counter's
/// `wasi:keyvalue` from redis-rest-kv) and writes it only when it passes
/// [`inspect::check_global_world`]: no `wasi:keyvalue` import survives.
/// `portable` (the portable worker, which imports `wasi:keyvalue`) must
/// fail that check: proof that the check still bites.
fn global_worker(root: &Path, out: &Path, portable: &[u8]) -> anyhow::Result<PathBuf> {
    let worker = out.join("worker-global.wasm");
    let bytes = compose::compose(
        &root.join("compose/worker-global.wac"),
        &global_worker_packages(out),
    )?;
    inspect::validate_bytes(&bytes)
        .with_context(|| format!("{} is not a valid component", worker.display()))?;
    inspect::check_global_world(&inspect::world_of(&bytes)?).with_context(|| {
        format!(
            "{} does not have the global worker's world",
            worker.display()
        )
    })?;
    if inspect::check_global_world(&inspect::world_of(portable)?).is_ok() {
        anyhow::bail!(
            "the global worker's check accepted the portable worker, which imports wasi:keyvalue: the check is broken"
        );
    }
    std::fs::write(&worker, &bytes)
        .with_context(|| format!("cannot write {}", worker.display()))?;
    Ok(worker)
}

/// Composes `worker-fastedge-global.wasm` (the FastEdge worker with the
/// counter's `wasi:keyvalue` from redis-rest-kv, configured through
/// fastedge-config) through the path users' compositions take, held to
/// FastEdge's import rules like `worker-fastedge.wasm`.
fn fastedge_global_worker(root: &Path, out: &Path) -> anyhow::Result<PathBuf> {
    let worker = out.join("worker-fastedge-global.wasm");
    user_compose::compose_to(
        &root.join("compose/worker-fastedge-global.wac"),
        Platform::Fastedge,
        &user_compose::default_packages(out),
        &worker,
    )?;
    Ok(worker)
}

/// Copies and validates the example components, then composes the
/// examples' workers: `limited-worker.wasm` (the rate limiter in front of
/// the entry, counter and uploader) is checked like the portable worker,
/// and must not import the `wasi:http/incoming-handler` the limiter hands
/// requests to (that import must be wired to the entry). The rate
/// limiter's tests also get `limiter-over-entry.wasm`, which leaves
/// `edgeplug:worker/{counter,uploader}` to the test host. The
/// browser-upload app is composed the way a user's own FastEdge app is
/// (`cargo xtask compose --platform fastedge`), into
/// `browser-upload-fastedge.wasm`, and the limiter in front of the
/// FastEdge worker with per-PoP windows and global page views, into
/// `limited-worker-fastedge-global.wasm`.
fn examples(root: &Path, built: &Path, out: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for name in EXAMPLES {
        written.push(copy_built(built, out, name)?);
    }

    let limited = out.join("limited-worker.wasm");
    let bytes = compose_into(
        &limited,
        &root.join("examples/rate-limiter/limited-worker.wac"),
        &limited_worker_packages(out),
    )?;
    check_limited_world(&inspect::world_of(&bytes)?)
        .with_context(|| format!("{} is not a complete worker", limited.display()))?;
    written.push(limited);

    // A test fixture: the limiter over the entry, with the counter and
    // uploader imports left for the test host's fakes.
    let fixture = out.join("limiter-over-entry.wasm");
    compose_into(
        &fixture,
        &root.join("examples/rate-limiter/tests/limiter-over-entry.wac"),
        &limited_worker_packages(out),
    )?;
    written.push(fixture);

    // The limiter in front of the FastEdge worker, its windows per PoP and
    // the page views global: composed and checked as a user's FastEdge app.
    let per_store = out.join("limited-worker-fastedge-global.wasm");
    let mut packages = user_compose::default_packages(out);
    packages.push((
        "edgeplug-examples:rate-limiter".to_owned(),
        out.join("rate-limiter.wasm"),
    ));
    user_compose::compose_to(
        &root.join("examples/rate-limiter/limited-worker-fastedge-global.wac"),
        Platform::Fastedge,
        &packages,
        &per_store,
    )?;
    written.push(per_store);

    let app = out.join("browser-upload-fastedge.wasm");
    let mut packages = user_compose::default_packages(out);
    packages.push((
        "edgeplug-examples:browser-upload".to_owned(),
        out.join("browser-upload.wasm"),
    ));
    user_compose::compose_to(
        &root.join("examples/browser-upload/browser-upload.wac"),
        Platform::Fastedge,
        &packages,
        &app,
    )?;
    written.push(app);
    Ok(written)
}

/// The packages `examples/rate-limiter/limited-worker.wac` names, from `out`.
fn limited_worker_packages(out: &Path) -> [(&'static str, PathBuf); 4] {
    [
        ("edgeplug:counter", out.join("counter.wasm")),
        ("edgeplug:uploader", out.join("uploader.wasm")),
        ("edgeplug:entry", out.join("entry.wasm")),
        (
            "edgeplug-examples:rate-limiter",
            out.join("rate-limiter.wasm"),
        ),
    ]
}

/// The portable worker's checks, plus: the limiter's next handler is wired
/// (an unwired one would survive as an import, and still be `wasi:*`).
fn check_limited_world(world: &inspect::World) -> anyhow::Result<()> {
    inspect::check_portable_world(world)?;
    if let Some(next) = world
        .imports
        .iter()
        .find(|i| i.starts_with("wasi:http/incoming-handler"))
    {
        anyhow::bail!("it imports `{next}`: the rate limiter's next handler is not wired");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace;

    /// The FastEdge composition with the kv adapter left unwired: the
    /// counter's `wasi:keyvalue` imports survive, and the check must refuse
    /// the result, naming them. Needs `cargo xtask build` first (as
    /// `cargo xtask test` does).
    #[test]
    fn a_fastedge_worker_without_the_kv_adapter_is_refused_by_name() {
        let root = workspace::root().expect("the workspace");
        let out = workspace::output_dir(&root);
        let source = std::fs::read_to_string(root.join("compose/worker-fastedge.wac"))
            .expect("compose/worker-fastedge.wac");
        let unwired: Vec<&str> = source
            .lines()
            .filter(|line| !line.contains("kv[\"wasi:keyvalue/"))
            .collect();
        let unwired = unwired.join("\n");
        assert_ne!(unwired, source, "the kv wiring was found and removed");
        let bytes =
            compose::compose_source_reporting(&unwired, &user_compose::default_packages(&out))
                .map(|composed| composed.bytes)
                .unwrap_or_else(|e| panic!("composes (run `cargo xtask build` first): {e:#}"));
        let world = inspect::world_of(&bytes).expect("a component");
        let error = inspect::check_fastedge_world(&world)
            .expect_err("the check refuses a wasi:keyvalue import")
            .to_string();
        assert!(
            error.contains("`wasi:keyvalue/store@0.2.0-draft`"),
            "{error}"
        );
    }

    /// The limited worker with the limiter's next handler left unwired:
    /// the composition still works, but the check refuses it by name.
    /// Needs `cargo xtask build` first.
    #[test]
    fn a_limited_worker_without_its_next_handler_is_refused() {
        let root = workspace::root().expect("the workspace");
        let out = workspace::output_dir(&root);
        let source = std::fs::read_to_string(root.join("examples/rate-limiter/limited-worker.wac"))
            .expect("examples/rate-limiter/limited-worker.wac");
        let unwired: Vec<&str> = source
            .lines()
            .filter(|line| !line.contains("entry[\"wasi:http/incoming-handler"))
            .collect();
        let unwired = unwired.join("\n");
        assert_ne!(
            unwired, source,
            "the next-handler wiring was found and removed"
        );
        let bytes = compose::compose_source_reporting(&unwired, &limited_worker_packages(&out))
            .map(|composed| composed.bytes)
            .unwrap_or_else(|e| panic!("composes (run `cargo xtask build` first): {e:#}"));
        let error = check_limited_world(&inspect::world_of(&bytes).expect("a component"))
            .expect_err("the check refuses an unwired next handler")
            .to_string();
        assert!(
            error.contains("`wasi:http/incoming-handler@0.2.6`"),
            "{error}"
        );
    }

    /// The global worker with the redis-rest-kv wiring left out: the
    /// counter's `wasi:keyvalue` imports survive (a portable host would
    /// link them), and the global check must refuse the result by name.
    /// Needs `cargo xtask build` first.
    #[test]
    fn a_global_worker_without_the_redis_adapter_is_refused_by_name() {
        let root = workspace::root().expect("the workspace");
        let out = workspace::output_dir(&root);
        let source = std::fs::read_to_string(root.join("compose/worker-global.wac"))
            .expect("compose/worker-global.wac");
        let unwired: Vec<&str> = source
            .lines()
            .filter(|line| !line.contains("kv[\"wasi:keyvalue/"))
            .collect();
        let unwired = unwired.join("\n");
        assert_ne!(unwired, source, "the kv wiring was found and removed");
        let bytes = compose::compose_source_reporting(&unwired, &global_worker_packages(&out))
            .map(|composed| composed.bytes)
            .unwrap_or_else(|e| panic!("composes (run `cargo xtask build` first): {e:#}"));
        let world = inspect::world_of(&bytes).expect("a component");
        inspect::check_portable_world(&world).expect("still a portable worker");
        let error = inspect::check_global_world(&world)
            .expect_err("the check refuses a wasi:keyvalue import")
            .to_string();
        assert!(
            error.contains("`wasi:keyvalue/atomics@0.2.0-draft`"),
            "{error}"
        );
    }

    /// Both global workers as composed: no wasi:keyvalue, the redis
    /// adapter's outgoing HTTP left to the host; on FastEdge, its config
    /// from fastedge-config. Needs `cargo xtask build` first.
    #[test]
    fn the_global_workers_as_composed_pass() {
        let root = workspace::root().expect("the workspace");
        let out = workspace::output_dir(&root);
        let bytes = compose::compose(
            &root.join("compose/worker-global.wac"),
            &global_worker_packages(&out),
        )
        .unwrap_or_else(|e| panic!("composes (run `cargo xtask build` first): {e:#}"));
        let world = inspect::world_of(&bytes).expect("a component");
        inspect::check_global_world(&world).unwrap_or_else(|e| panic!("{e:#}"));
        assert!(
            world
                .imports
                .iter()
                .any(|i| i == "wasi:http/outgoing-handler@0.2.6"),
            "{world:?}"
        );

        let bytes = compose::compose(
            &root.join("compose/worker-fastedge-global.wac"),
            &user_compose::default_packages(&out),
        )
        .unwrap_or_else(|e| panic!("composes (run `cargo xtask build` first): {e:#}"));
        let world = inspect::world_of(&bytes).expect("a component");
        inspect::check_fastedge_world(&world).unwrap_or_else(|e| panic!("{e:#}"));
        assert!(
            !world
                .imports
                .iter()
                .any(|i| i.starts_with("gcore:fastedge/cache-sync")),
            "the counter's store is Redis, not the PoP's cache: {world:?}"
        );
    }

    #[test]
    fn the_fastedge_worker_as_composed_passes() {
        let root = workspace::root().expect("the workspace");
        let out = workspace::output_dir(&root);
        let bytes = compose::compose(
            &root.join("compose/worker-fastedge.wac"),
            &user_compose::default_packages(&out),
        )
        .unwrap_or_else(|e| panic!("composes (run `cargo xtask build` first): {e:#}"));
        inspect::check_fastedge_world(&inspect::world_of(&bytes).expect("a component"))
            .unwrap_or_else(|e| panic!("{e:#}"));
    }
}
