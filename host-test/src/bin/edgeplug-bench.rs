//! `edgeplug-bench`: the figures `cargo xtask bench` prints. A program, not a
//! test: timings on shared machines are noisy, so they are reported, never
//! asserted. Compare figures within one run.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use host_test::bodies::PatternBody;
use host_test::{HostContext, HttpWorker, LocalS3, OutboundHandler, S3Credentials};
use http_body_util::BodyExt;
use serde_json::json;

#[derive(Parser)]
#[command(
    name = "edgeplug-bench",
    about = "Measure edgeplug's components and host"
)]
struct Args {
    /// Where `cargo xtask build` wrote the components.
    #[arg(long, default_value = "target/edgeplug")]
    wasm_dir: PathBuf,
    /// The upload size, in MiB.
    #[arg(long, default_value_t = 1024)]
    upload_mib: u64,
    /// How many in-process requests to time per route.
    #[arg(long, default_value_t = 10_000)]
    requests: usize,
    /// Also write the figures here, as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

const BUCKET: &str = "bench";
const S3_AUTHORITY: &str = "s3.bench:9000";

fn scratch_dir(name: &str) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("edgeplug-bench-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

async fn time_requests(
    worker: &HttpWorker,
    path: &str,
    n: usize,
) -> anyhow::Result<(Duration, Duration)> {
    for _ in 0..100 {
        worker.get(path).await?;
    }
    let mut times = Vec::with_capacity(n);
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
    times.sort_unstable();
    Ok((percentile(&times, 0.5), percentile(&times, 0.99)))
}

fn mb_per_s(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / 1e6 / elapsed.as_secs_f64()
}

async fn upload_through_worker(
    worker_wasm: &Path,
    len: u64,
) -> anyhow::Result<(Duration, usize, usize)> {
    let dir = scratch_dir("worker")?;
    let credentials = S3Credentials {
        access_key_id: "AKIDBENCH".into(),
        secret_access_key: "bench-secret-not-shown".into(),
    };
    let s3 = LocalS3::new(&dir, &credentials)?;
    s3.create_bucket(BUCKET)?;
    let context = HostContext::new().with_inherited_stdio(false);
    context.outbound().route(S3_AUTHORITY, Arc::new(s3.clone()));
    context.set_config("s3-endpoint", format!("http://{S3_AUTHORITY}"));
    context.set_config("s3-bucket", BUCKET);
    context.set_config("s3-access-key-id", credentials.access_key_id.as_str());
    context.set_config(
        "s3-secret-access-key",
        credentials.secret_access_key.as_str(),
    );
    let worker = HttpWorker::new(&host_test::load_component(worker_wasm)?, context.clone())?;
    let request = http::Request::put("http://localhost/objects/bench.bin")
        .header("content-length", len)
        .body(PatternBody::new(len))?;
    let started = Instant::now();
    let response = worker.send(request).await?;
    let elapsed = started.elapsed();
    anyhow::ensure!(
        response.status == 201,
        "upload answered {}: {}",
        response.status,
        response.text()
    );
    let stored = std::fs::metadata(s3.object_path(BUCKET, "bench.bin"))?.len();
    anyhow::ensure!(stored == len, "stored {stored} bytes of {len}");
    let peak = context.peak_memory();
    let figures = (elapsed, peak.largest_memory(), peak.instance_total());
    let _ = std::fs::remove_dir_all(&dir);
    Ok(figures)
}

async fn upload_direct(len: u64) -> anyhow::Result<Duration> {
    let dir = scratch_dir("direct")?;
    let s3 = LocalS3::without_auth(&dir)?;
    s3.create_bucket(BUCKET)?;
    let request = http::Request::put(format!("http://{S3_AUTHORITY}/{BUCKET}/direct.bin"))
        .header("content-length", len)
        .body(PatternBody::new(len).boxed_unsync())?;
    let started = Instant::now();
    let response = s3
        .handle(request)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let status = response.status();
    response
        .into_body()
        .collect()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let elapsed = started.elapsed();
    anyhow::ensure!(status.is_success(), "direct write answered {status}");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(elapsed)
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut report = serde_json::Map::new();

    println!("{:<52} {:>16}", "figure", "value");
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
    entries.sort();
    for path in &entries {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let size = std::fs::metadata(path)?.len();
        println!("{:<52} {:>10} bytes", format!("size of {name}"), size);
        sizes.insert(name, json!(size));
    }
    report.insert("sizes_bytes".into(), sizes.into());

    let worker_wasm = args.wasm_dir.join("worker.wasm");
    let started = Instant::now();
    let component = wasmtime::component::Component::from_file(host_test::engine(), &worker_wasm)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("cannot compile {}", worker_wasm.display()))?;
    let compile = started.elapsed();
    println!(
        "{:<52} {:>13.1} ms",
        "compile worker.wasm (cranelift)",
        compile.as_secs_f64() * 1e3
    );
    report.insert(
        "compile_worker_ms".into(),
        json!(compile.as_secs_f64() * 1e3),
    );

    let context = HostContext::new().with_inherited_stdio(false);
    let worker = HttpWorker::new(&component, context)?;
    for path in ["/", "/counters/x"] {
        let (median, p99) = time_requests(&worker, path, args.requests).await?;
        println!(
            "{:<52} {:>8.1} µs median, {:>8.1} µs p99",
            format!("instantiate + handle GET {path} (n={})", args.requests),
            micros(median),
            micros(p99)
        );
        report.insert(
            format!(
                "request_get_{}",
                if path == "/" { "root" } else { "counter" }
            ),
            json!({"median_us": micros(median), "p99_us": micros(p99), "n": args.requests}),
        );
    }

    let len = args.upload_mib * 1024 * 1024;
    let direct = upload_direct(len).await?;
    let (through, largest, total) = upload_through_worker(&worker_wasm, len).await?;
    let direct_mbs = mb_per_s(len, direct);
    let worker_mbs = mb_per_s(len, through);
    println!(
        "{:<52} {:>10.1} MB/s",
        format!(
            "upload {} MiB: host straight into the store",
            args.upload_mib
        ),
        direct_mbs
    );
    println!(
        "{:<52} {:>10.1} MB/s",
        format!(
            "upload {} MiB: through worker.wasm (multipart)",
            args.upload_mib
        ),
        worker_mbs
    );
    println!(
        "{:<52} {:>13.2}",
        "  ratio worker / direct",
        worker_mbs / direct_mbs
    );
    println!(
        "{:<52} {:>10.1} MiB",
        "  guest peak: largest linear memory",
        largest as f64 / 1048576.0
    );
    println!(
        "{:<52} {:>10.1} MiB",
        "  guest peak: all memories of the instance",
        total as f64 / 1048576.0
    );
    report.insert(
        "upload".into(),
        json!({
            "bytes": len,
            "direct_mb_per_s": direct_mbs,
            "worker_mb_per_s": worker_mbs,
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
