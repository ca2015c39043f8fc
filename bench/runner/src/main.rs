//! `edgeplug-bench`: the figures `cargo xtask bench` prints. A program, not a
//! test: timings on shared machines are noisy, so they are reported, never
//! asserted. Compare figures within one run.
//!
//! Given `--monolith` (the entry, counter and uploader linked into one
//! component, which `cargo xtask bench` builds from `bench/monolith`), it
//! first checks that the monolith answers like the composed worker, then
//! measures both the same way: what composition costs is their ratio.

mod composition;
mod deadline;
mod global;
mod parity;
mod reuse;
mod startup;
mod upload;
mod versus_wasmtime;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use host_test::load::{self, LoadPlan, LoadReport, Until};
use host_test::{HostContext, HttpWorker, MemoryKv};
use serde_json::json;
use wasmtime::component::Component;

#[derive(Parser)]
#[command(
    name = "edgeplug-bench",
    about = "Measure edgeplug's components and host"
)]
struct Args {
    /// Where `cargo xtask build` wrote the components.
    #[arg(long, default_value = "target/edgeplug")]
    wasm_dir: PathBuf,
    /// The monolith to compare the composed worker with (`cargo xtask bench`
    /// builds it from bench/monolith). Without it, only the worker is measured.
    #[arg(long)]
    monolith: Option<PathBuf>,
    /// The upload size, in MiB.
    #[arg(long, default_value_t = 1024)]
    upload_mib: u64,
    /// Rounds of the worker-against-monolith comparison (worker, then
    /// monolith, in each round).
    #[arg(long, default_value_t = 5)]
    composition_rounds: usize,
    /// Rounds of the upload comparison (direct, then native and worker, in
    /// turn first).
    #[arg(long, default_value_t = 5)]
    upload_rounds: usize,
    /// How many in-process requests to time per route.
    #[arg(long, default_value_t = 10_000)]
    requests: usize,
    /// How many keep-alive connections the HTTP load keeps busy at once.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// How long each HTTP load runs, in seconds (after a 1 s warm-up).
    #[arg(long, default_value_t = 10)]
    http_secs: u64,
    /// The `edgeplug-host` binary, to time `serve` from launch to its first
    /// 200 (`cargo xtask bench` builds and passes it). Without it, start-up
    /// is not measured.
    #[arg(long)]
    host_bin: Option<PathBuf>,
    /// Rounds of each start-up measurement (compiled, precompiled), interleaved.
    #[arg(long, default_value_t = 5)]
    startup_rounds: usize,
    /// Rounds of the instance-reuse comparison (a fresh instance per
    /// request, then reuse, in each round).
    #[arg(long, default_value_t = 3)]
    reuse_rounds: usize,
    /// The `wasmtime` CLI to compare `edgeplug-host serve` with (`cargo
    /// xtask bench` installs the pinned 48.0.8 into target/tools/ and passes
    /// it). Needs --host-bin. Without it, the comparison is skipped.
    #[arg(long)]
    wasmtime_bin: Option<PathBuf>,
    /// Rounds of the comparison with `wasmtime serve` (each round runs all
    /// four servers, one after another).
    #[arg(long, default_value_t = 5)]
    versus_rounds: usize,
    /// How long each server of that comparison is loaded per round, in
    /// seconds (after a 1 s warm-up).
    #[arg(long, default_value_t = 5)]
    versus_secs: u64,
    /// Rounds of the global-counter comparison (local, then global, in
    /// each round); 0 skips it.
    #[arg(long, default_value_t = 5)]
    global_rounds: usize,
    /// Also write the figures here, as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// An empty scratch folder for one measurement.
fn scratch_dir(name: &str) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("edgeplug-bench-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The median and 99th percentile of `n` timed `GET path`s, after
/// [`warm_up`].
async fn time_requests(
    worker: &HttpWorker,
    path: &str,
    n: usize,
) -> anyhow::Result<(Duration, Duration)> {
    warm_up(worker, path).await?;
    let mut times = Vec::with_capacity(n);
    time_into(worker, path, n, &mut times).await?;
    times.sort_unstable();
    Ok((load::quantile(&times, 0.5), load::quantile(&times, 0.99)))
}

/// 100 untimed `GET path`s, so that what is timed next runs warm.
async fn warm_up(worker: &HttpWorker, path: &str) -> anyhow::Result<()> {
    for _ in 0..100 {
        worker.get(path).await?;
    }
    Ok(())
}

/// Times `n` `GET path`s one after another, adding each time to `times`;
/// anything but a 200 fails.
async fn time_into(
    worker: &HttpWorker,
    path: &str,
    n: usize,
    times: &mut Vec<Duration>,
) -> anyhow::Result<()> {
    for _ in 0..n {
        let started = Instant::now();
        let response = worker.get(path).await?;
        times.push(started.elapsed());
        anyhow::ensure!(
            response.status == 200,
            "{path} answered {}",
            response.status
        );
    }
    Ok(())
}

fn mb_per_s(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / 1e6 / elapsed.as_secs_f64()
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The file name of `path`, for labels.
fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Compiles the component at `path`, printing and recording how long it took.
fn compile(
    path: &Path,
    report: &mut serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> anyhow::Result<Component> {
    let started = Instant::now();
    let component = Component::from_file(host_test::engine(), path)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("cannot compile {}", path.display()))?;
    let compile = started.elapsed();
    println!(
        "{:<60} {:>13.1} ms",
        format!("compile {} (cranelift)", file_name(path)),
        millis(compile)
    );
    report.insert(key.into(), json!(millis(compile)));
    Ok(component)
}

/// The routes timed in-process, with their JSON keys.
const ROUTES: [(&str, &str); 2] = [
    ("/", "request_get_root"),
    ("/counters/x", "request_get_counter"),
];

/// Times each of [`ROUTES`] in-process, a fresh instance per request, and
/// returns their medians. `who` prefixes the labels (empty for the worker).
async fn per_request(
    component: &Component,
    who: &str,
    n: usize,
    report: &mut serde_json::Map<String, serde_json::Value>,
) -> anyhow::Result<Vec<Duration>> {
    let context = HostContext::new().with_inherited_stdio(false);
    let worker = HttpWorker::new(component, context)?;
    let mut medians = Vec::new();
    for (path, key) in ROUTES {
        let (median, p99) = time_requests(&worker, path, n).await?;
        println!(
            "{:<60} {:>8.1} µs median, {:>8.1} µs p99",
            format!("{who}instantiate + handle GET {path} (n={n})"),
            micros(median),
            micros(p99)
        );
        report.insert(
            key.into(),
            json!({"median_us": micros(median), "p99_us": micros(p99), "n": n}),
        );
        medians.push(median);
    }
    Ok(medians)
}

/// The worker of `component` the load figures use: an in-memory KV,
/// guests' output kept quiet, and instance reuse if given.
fn bench_worker(
    component: &Component,
    reuse: Option<host_test::InstanceReuse>,
) -> anyhow::Result<HttpWorker> {
    let context = HostContext::new()
        .with_kv(Arc::new(MemoryKv::new()))
        .with_inherited_stdio(false);
    let worker = HttpWorker::new(component, context)?;
    Ok(match reuse {
        Some(reuse) => worker.with_instance_reuse(reuse),
        None => worker,
    })
}

/// Serves `worker` on a loopback port with the real server code and loads
/// it with `GET /` from `connections` connections: a warm-up second, then
/// `secs` seconds. Returns both reports, warm-up first.
async fn serve_and_load(
    worker: &HttpWorker,
    connections: usize,
    secs: u64,
) -> anyhow::Result<(LoadReport, LoadReport)> {
    let (addr, server) = serve_on_loopback(worker).await?;
    let plan = |secs| get_root_for(addr, connections, Duration::from_secs(secs));
    let warm = load::run(&plan(1)).await?;
    let run = load::run(&plan(secs)).await?;
    server.abort();
    Ok((warm, run))
}

/// Serves `worker` with the real server code on a free loopback port: the
/// address, and the server's task (abort it when done).
async fn serve_on_loopback(
    worker: &HttpWorker,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<anyhow::Result<()>>)> {
    let listener =
        tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
    let addr = listener.local_addr()?;
    Ok((
        addr,
        tokio::spawn(edgeplug_host::serve::serve(worker.clone(), listener)),
    ))
}

/// `GET /` at `addr` from `connections` connections for `how_long`.
fn get_root_for(addr: SocketAddr, connections: usize, how_long: Duration) -> LoadPlan {
    LoadPlan::get(vec![addr], connections, Until::Elapsed(how_long), "/")
        .with_request_timeout(load::REQUEST_TIMEOUT)
}

/// Fails, naming `what`, if any request of `report` got no answer or one
/// outside 2xx.
fn ensure_clean(what: &str, report: &LoadReport) -> anyhow::Result<()> {
    anyhow::ensure!(
        report.transport_errors == 0 && report.failures() == 0,
        "{what}: {} errors, {} non-2xx (first error: {})",
        report.transport_errors,
        report.failures(),
        report.first_error.as_deref().unwrap_or("none")
    );
    Ok(())
}

/// Serves `component` on a loopback port with the real server code and an
/// in-memory KV, and loads it with `GET /` from `connections` connections
/// for `secs` seconds after a warm-up second.
async fn http_load(
    component: &Component,
    name: &str,
    connections: usize,
    secs: u64,
    report: &mut serde_json::Map<String, serde_json::Value>,
) -> anyhow::Result<f64> {
    let worker = bench_worker(component, None)?;
    let (warm, run) = serve_and_load(&worker, connections, secs).await?;

    let (p50, p99) = (run.latency(0.5), run.latency(0.99));
    println!(
        "{:<60} {:>10.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
        format!("HTTP GET /, {connections} connections, {secs} s: {name}"),
        run.successes_per_second(),
        millis(p50),
        millis(p99)
    );
    let clean = |report: &LoadReport| report.transport_errors == 0 && report.failures() == 0;
    if !clean(&run) {
        println!(
            "{:<60} {:>10} errors, {} non-2xx (first error: {})",
            "  not counted",
            run.transport_errors,
            run.failures(),
            run.first_error.as_deref().unwrap_or("none")
        );
    } else if clean(&warm) {
        // Every 200 was one increment: a lost one would show here.
        let counted = worker.get("/counters/page_views").await?.json()?["value"]
            .as_u64()
            .context("no page_views value")?;
        anyhow::ensure!(
            counted == warm.successes() + run.successes(),
            "{name}: page_views is {counted} after {} answered GET /",
            warm.successes() + run.successes()
        );
    }
    report.insert(
        "http_get_root".into(),
        json!({
            "connections": connections,
            "seconds": run.elapsed.as_secs_f64(),
            "ok": run.successes(),
            "non_2xx": run.failures(),
            "errors": run.transport_errors,
            "first_error": run.first_error,
            "rps": run.successes_per_second(),
            "p50_ms": millis(p50),
            "p99_ms": millis(p99),
        }),
    );
    Ok(run.successes_per_second())
}

/// `(min, median, max)` of `values`, sorted here.
fn spread<T: Copy + PartialOrd + Default>(values: &[T]) -> (T, T, T) {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or_default();
    (
        sorted.first().copied().unwrap_or_default(),
        median,
        sorted.last().copied().unwrap_or_default(),
    )
}

/// Measures, prints and records the worker against the monolith, ABAB.
async fn report_composition(
    worker: &Component,
    monolith: &Component,
    args: &Args,
    report: &mut serde_json::Map<String, serde_json::Value>,
) -> anyhow::Result<()> {
    let requests = args.requests.min(2_000);
    let rounds = args.composition_rounds.max(1);
    let figures = composition::measure(
        worker,
        monolith,
        rounds,
        requests,
        args.connections,
        args.http_secs,
    )
    .await?;
    let mut json_report = serde_json::Map::new();
    for (route, (path, key)) in ROUTES.iter().enumerate() {
        let (w_low, w_median, w_high) = spread(&figures.worker.in_process[route]);
        let (m_low, m_median, m_high) = spread(&figures.monolith.in_process[route]);
        for (who, median, low, high) in [
            ("worker.wasm", w_median, w_low, w_high),
            ("monolith.wasm", m_median, m_low, m_high),
        ] {
            println!(
                "{:<60} {:>8.1} µs median, {:.1}–{:.1}",
                format!("GET {path} in-process, {rounds} rounds ABAB: {who}"),
                micros(median),
                micros(low),
                micros(high)
            );
        }
        let ratio = w_median.as_secs_f64() / m_median.as_secs_f64();
        println!(
            "{:<60} {:>13.2}",
            format!("  cost of composing (worker / monolith), GET {path}"),
            ratio
        );
        json_report.insert(
            (*key).into(),
            json!({
                "worker_median_us": micros(w_median),
                "worker_per_round_us": figures.worker.in_process[route].iter().map(|d| micros(*d)).collect::<Vec<_>>(),
                "monolith_median_us": micros(m_median),
                "monolith_per_round_us": figures.monolith.in_process[route].iter().map(|d| micros(*d)).collect::<Vec<_>>(),
                "worker_over_monolith": ratio,
            }),
        );
    }
    let (w_low, w_rps, w_high) = spread(&figures.worker.rps);
    let (m_low, m_rps, m_high) = spread(&figures.monolith.rps);
    for (who, median, low, high) in [
        ("worker.wasm", w_rps, w_low, w_high),
        ("monolith.wasm", m_rps, m_low, m_high),
    ] {
        println!(
            "{:<60} {:>10.0} req/s median, {:.0}–{:.0}",
            format!(
                "HTTP GET /, {} connections, {rounds} rounds ABAB: {who}",
                args.connections
            ),
            median,
            low,
            high
        );
    }
    let ratio = m_rps / w_rps;
    println!(
        "{:<60} {:>13.2}",
        "  cost of composing (monolith / worker req/s)", ratio
    );
    json_report.insert(
        "http_get_root".into(),
        json!({
            "worker_rps_median": w_rps,
            "worker_rps_per_round": figures.worker.rps,
            "monolith_rps_median": m_rps,
            "monolith_rps_per_round": figures.monolith.rps,
            "monolith_over_worker": ratio,
        }),
    );
    json_report.insert("rounds".into(), json!(rounds));
    json_report.insert("in_process_requests_per_round".into(), json!(requests));
    report.insert("composition_cost".into(), json_report.into());
    Ok(())
}

/// Measures, prints and records the instance-reuse comparison.
async fn report_reuse(
    component: &Component,
    args: &Args,
    report: &mut serde_json::Map<String, serde_json::Value>,
) -> anyhow::Result<()> {
    let requests = args.requests.min(2_000);
    let figures = reuse::measure(
        component,
        args.reuse_rounds,
        requests,
        args.connections,
        args.http_secs,
    )
    .await?;
    let mut json_modes = serde_json::Map::new();
    let mut medians = Vec::new();
    for (key, name, mode) in [
        ("fresh", "a fresh instance per request", &figures.fresh),
        (
            "reused",
            "instances reused (up to 1000 requests each)",
            &figures.reused,
        ),
    ] {
        let (low, median, high) = spread(&mode.in_process);
        println!(
            "{:<60} {:>8.1} µs median, {:.1}–{:.1}",
            format!("GET / in-process, {name}"),
            micros(median),
            micros(low),
            micros(high)
        );
        let (rps_low, rps, rps_high) = spread(&mode.rps);
        println!(
            "{:<60} {:>10.0} req/s median, {:.0}–{:.0}",
            format!("HTTP GET /, {} connections, {name}", args.connections),
            rps,
            rps_low,
            rps_high
        );
        medians.push((median, rps));
        json_modes.insert(
            key.into(),
            json!({
                "in_process_median_us": micros(median),
                "in_process_per_round_us": mode.in_process.iter().map(|d| micros(*d)).collect::<Vec<_>>(),
                "http_rps_median": rps,
                "http_rps_per_round": mode.rps,
            }),
        );
    }
    if let [(fresh_time, fresh_rps), (reused_time, reused_rps)] = medians[..] {
        let faster = fresh_time.as_secs_f64() / reused_time.as_secs_f64();
        let more = reused_rps / fresh_rps;
        println!(
            "{:<60} {:>13.2}",
            "  reuse speed-up, in-process (fresh / reused time)", faster
        );
        println!(
            "{:<60} {:>13.2}",
            "  reuse speed-up, HTTP (reused / fresh req/s)", more
        );
        json_modes.insert("speedup_in_process".into(), json!(faster));
        json_modes.insert("speedup_http".into(), json!(more));
    }
    json_modes.insert("rounds".into(), json!(args.reuse_rounds));
    json_modes.insert("in_process_requests_per_round".into(), json!(requests));
    json_modes.insert("connections".into(), json!(args.connections));
    json_modes.insert("http_seconds".into(), json!(args.http_secs));
    report.insert("instance_reuse".into(), json_modes.into());
    Ok(())
}

/// Measures, prints and records what a global counter costs against a
/// local one, and the gateway's own throughput.
async fn report_global(
    local: &Component,
    args: &Args,
    report: &mut serde_json::Map<String, serde_json::Value>,
) -> anyhow::Result<()> {
    let global = compile(
        &args.wasm_dir.join("worker-global.wasm"),
        report,
        "compile_worker_global_ms",
    )?;
    let requests = args.requests.min(2_000);
    let figures = global::measure(
        local,
        &global,
        args.global_rounds,
        requests,
        args.connections,
        args.http_secs,
    )
    .await?;
    let (local_low, local_median, local_high) = spread(&figures.local);
    let (global_low, global_median, global_high) = spread(&figures.global);
    for (name, median, low, high) in [
        ("local (wasi:keyvalue)", local_median, local_low, local_high),
        (
            "global (Redis REST gateway)",
            global_median,
            global_low,
            global_high,
        ),
    ] {
        println!(
            "{:<60} {:>8.1} µs median, {:.1}–{:.1}",
            format!("GET /counters/x in-process, {name}"),
            micros(median),
            micros(low),
            micros(high)
        );
    }
    let ratio = global_median.as_secs_f64() / local_median.as_secs_f64();
    println!(
        "{:<60} {:>13.2}",
        "  cost of a global counter (global / local time)", ratio
    );
    println!(
        "{:<60} {:>13.2}",
        "  gateway round trips per GET /counters/x", figures.trips_per_read
    );
    println!(
        "{:<60} {:>13.2}",
        "  gateway round trips per GET / (an increment)", figures.trips_per_increment
    );
    let run = &figures.gateway;
    println!(
        "{:<60} {:>10.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
        format!(
            "kv-gateway INCR, {} connections, {} s",
            args.connections, args.http_secs
        ),
        run.successes_per_second(),
        millis(run.latency(0.5)),
        millis(run.latency(0.99))
    );
    report.insert(
        "global_counters".into(),
        json!({
            "rounds": args.global_rounds,
            "in_process_requests_per_round": requests,
            "local_median_us": micros(local_median),
            "local_per_round_us": figures.local.iter().map(|d| micros(*d)).collect::<Vec<_>>(),
            "global_median_us": micros(global_median),
            "global_per_round_us": figures.global.iter().map(|d| micros(*d)).collect::<Vec<_>>(),
            "global_over_local": ratio,
            "round_trips_per_read": figures.trips_per_read,
            "round_trips_per_increment": figures.trips_per_increment,
            "gateway_incr_rps": run.successes_per_second(),
            "gateway_p50_ms": millis(run.latency(0.5)),
            "gateway_p99_ms": millis(run.latency(0.99)),
            "gateway_connections": args.connections,
        }),
    );
    Ok(())
}

/// Measures, prints and records `edgeplug-host serve` against `wasmtime
/// serve`.
async fn report_versus_wasmtime(
    host_bin: &Path,
    wasmtime_bin: &Path,
    worker: &Path,
    args: &Args,
    report: &mut serde_json::Map<String, serde_json::Value>,
) -> anyhow::Result<()> {
    let scratch = scratch_dir("versus-wasmtime")?;
    let setup = versus_wasmtime::Setup {
        host_bin,
        wasmtime_bin,
        worker,
        scratch: &scratch,
    };
    let results = versus_wasmtime::measure(
        &setup,
        args.versus_rounds,
        args.connections,
        args.versus_secs,
    )
    .await;
    let _ = std::fs::remove_dir_all(&scratch);
    let results = results?;
    let mut figures = serde_json::Map::new();
    let mut medians = std::collections::BTreeMap::new();
    for (contender, rps) in &results {
        let (low, median, high) = spread(rps);
        println!(
            "{:<60} {:>10.0} req/s median, {:.0}–{:.0}",
            format!(
                "HTTP GET {}, {} conns, {} rounds: {}",
                versus_wasmtime::ROUTE,
                args.connections,
                rps.len(),
                contender.name()
            ),
            median,
            low,
            high
        );
        medians.insert(contender.key(), median);
        figures.insert(
            contender.key().into(),
            json!({ "rps_median": median, "rps_per_round": rps }),
        );
    }
    for (label, key, ours, theirs) in [
        (
            "  edgeplug / wasmtime, fresh instances",
            "fresh_edgeplug_over_wasmtime",
            "edgeplug_fresh",
            "wasmtime_fresh",
        ),
        (
            "  edgeplug / wasmtime, reuse 1000",
            "reuse_edgeplug_over_wasmtime",
            "edgeplug_reuse",
            "wasmtime_reuse",
        ),
    ] {
        if let (Some(ours), Some(theirs)) = (medians.get(ours), medians.get(theirs)) {
            let ratio = ours / theirs;
            println!("{label:<60} {ratio:>13.2}");
            figures.insert(key.into(), json!(ratio));
        }
    }
    figures.insert("route".into(), json!(versus_wasmtime::ROUTE));
    figures.insert("connections".into(), json!(args.connections));
    figures.insert("seconds_per_round".into(), json!(args.versus_secs));
    report.insert("versus_wasmtime_serve".into(), figures.into());
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut report = serde_json::Map::new();

    println!("{:<60} {:>16}", "figure", "value");
    let mut sizes = serde_json::Map::new();
    let mut entries: Vec<_> = std::fs::read_dir(&args.wasm_dir)
        .with_context(|| {
            format!(
                "cannot read {} (run cargo xtask build)",
                args.wasm_dir.display()
            )
        })?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
        .collect();
    if let Some(monolith) = &args.monolith
        && !entries.iter().any(|p| p == monolith)
    {
        entries.push(monolith.clone());
    }
    entries.sort();
    for path in &entries {
        let name = file_name(path);
        let size = std::fs::metadata(path)?.len();
        println!("{:<60} {:>10} bytes", format!("size of {name}"), size);
        sizes.insert(name, json!(size));
    }
    report.insert("sizes_bytes".into(), sizes.into());

    let worker_wasm = args.wasm_dir.join("worker.wasm");
    let component = compile(&worker_wasm, &mut report, "compile_worker_ms")?;
    // Instantiation dominates a request: say which allocator did it (pooling
    // may have fallen back to on-demand on this machine).
    let allocator = format!("{:?}", host_test::allocator());
    println!("{:<60} {:>16}", "instance allocator", allocator);
    report.insert("allocator".into(), json!(allocator));
    let monolith = match &args.monolith {
        Some(path) => {
            let monolith = compile(path, &mut report, "compile_monolith_ms")?;
            let compared = parity::check(&component, &monolith).await.context(
                "the monolith does not answer like the worker: its figures would mean nothing",
            )?;
            println!(
                "{:<60} {:>16}",
                format!("monolith answers like worker.wasm ({compared} requests)"),
                "yes"
            );
            Some(monolith)
        }
        None => None,
    };

    per_request(&component, "", args.requests, &mut report).await?;
    http_load(
        &component,
        "worker.wasm",
        args.connections,
        args.http_secs,
        &mut report,
    )
    .await?;
    if let Some(monolith) = &monolith {
        report_composition(&component, monolith, &args, &mut report).await?;
    }

    if args.reuse_rounds > 0 {
        report_reuse(&component, &args, &mut report).await?;
    }

    if args.global_rounds > 0 {
        report_global(&component, &args, &mut report).await?;
    }

    if let (Some(host_bin), Some(wasmtime_bin)) = (&args.host_bin, &args.wasmtime_bin) {
        report_versus_wasmtime(host_bin, wasmtime_bin, &worker_wasm, &args, &mut report).await?;
    }

    if let Some(host_bin) = &args.host_bin {
        let scratch = scratch_dir("startup")?;
        let startup = startup::measure(host_bin, &worker_wasm, &scratch, args.startup_rounds)?;
        let _ = std::fs::remove_dir_all(&scratch);
        let mut figures = serde_json::Map::new();
        for (name, key, times) in [
            ("compiled at start", "compiled", &startup.compiled),
            (
                "precompiled, from the cache",
                "precompiled",
                &startup.precompiled,
            ),
        ] {
            let (low, median, high) = (
                times.first().copied().unwrap_or_default(),
                load::quantile(times, 0.5),
                times.last().copied().unwrap_or_default(),
            );
            println!(
                "{:<60} {:>10.1} ms median, {:.1}–{:.1}",
                format!("serve to first 200, worker {name} ({} rounds)", times.len()),
                millis(median),
                millis(low),
                millis(high)
            );
            figures.insert(
                key.into(),
                json!({ "median_ms": millis(median), "min_ms": millis(low), "max_ms": millis(high) }),
            );
        }
        report.insert("startup_to_first_200".into(), figures.into());
    }

    let overshoots = deadline::overshoots(&args.wasm_dir.join("misbehave.wasm"), 5).await?;
    let (median, worst) = (
        load::quantile(&overshoots, 0.5),
        overshoots.last().copied().unwrap_or_default(),
    );
    println!(
        "{:<60} {:>10.1} ms median, {:.1} ms worst",
        format!(
            "deadline precision: past a {} ms deadline, {} rounds",
            deadline::DEADLINE.as_millis(),
            overshoots.len()
        ),
        millis(median),
        millis(worst)
    );
    report.insert(
        "deadline_overshoot_ms".into(),
        json!({ "median": millis(median), "worst": millis(worst), "rounds": overshoots.len() }),
    );

    let len = args.upload_mib * 1024 * 1024;
    // Direct, native and worker one after another in each round, so that
    // a slow spell of the machine hits all three alike. Native and worker
    // take turns going first: whichever runs second shares the machine with
    // the store's leftovers from the one before (freed pages, the kernel
    // writing back what was stored), and neither should always pay for it.
    let (mut directs, mut natives, mut throughs) = (Vec::new(), Vec::new(), Vec::new());
    let (mut largest, mut total) = (0, 0);
    for round in 0..args.upload_rounds.max(1) {
        directs.push(mb_per_s(len, upload::direct(len).await?));
        if round % 2 == 0 {
            natives.push(mb_per_s(len, upload::native(len).await?));
        }
        let (through, peak, all) = upload::through_worker(&worker_wasm, len).await?;
        throughs.push(mb_per_s(len, through));
        (largest, total) = (largest.max(peak), total.max(all));
        if round % 2 == 1 {
            natives.push(mb_per_s(len, upload::native(len).await?));
        }
    }
    let (direct_low, direct_mbs, direct_high) = spread(&directs);
    let (native_low, native_mbs, native_high) = spread(&natives);
    let (worker_low, worker_mbs, worker_high) = spread(&throughs);
    for (what, median, low, high) in [
        (
            "host straight into the store",
            direct_mbs,
            direct_low,
            direct_high,
        ),
        (
            "the uploader's logic natively (same signing, parts, store)",
            native_mbs,
            native_low,
            native_high,
        ),
        (
            "through worker.wasm (multipart)",
            worker_mbs,
            worker_low,
            worker_high,
        ),
    ] {
        println!(
            "{:<60} {:>10.1} MB/s median, {:.1}–{:.1}",
            format!("upload {} MiB: {what}", args.upload_mib),
            median,
            low,
            high
        );
    }
    println!(
        "{:<60} {:>13.2}",
        "  ratio worker / native (what Wasm costs)",
        worker_mbs / native_mbs
    );
    println!(
        "{:<60} {:>13.2}",
        "  ratio worker / direct",
        worker_mbs / direct_mbs
    );
    println!(
        "{:<60} {:>10.1} MiB",
        "  guest peak: largest linear memory",
        largest as f64 / 1048576.0
    );
    println!(
        "{:<60} {:>10.1} MiB",
        "  guest peak: all memories of the instance",
        total as f64 / 1048576.0
    );
    report.insert(
        "upload".into(),
        json!({
            "bytes": len,
            "rounds": args.upload_rounds.max(1),
            "direct_mb_per_s": direct_mbs,
            "direct_per_round": directs,
            "native_mb_per_s": native_mbs,
            "native_per_round": natives,
            "worker_mb_per_s": worker_mbs,
            "worker_per_round": throughs,
            "ratio_worker_over_native": worker_mbs / native_mbs,
            "ratio": worker_mbs / direct_mbs,
            "guest_peak_largest_memory_bytes": largest,
            "guest_peak_instance_total_bytes": total,
        }),
    );

    if let Some(path) = args.json {
        std::fs::write(&path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("written to {}", path.display());
    }
    Ok(())
}
