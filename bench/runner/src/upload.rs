//! Upload throughput: through the composed worker into a local S3 that
//! checks every signature, against the host writing into the same store.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use host_test::bodies::PatternBody;
use host_test::{HostContext, HttpWorker, LocalS3, OutboundHandler, S3Credentials};
use http_body_util::BodyExt;

use crate::scratch_dir;

const BUCKET: &str = "bench";
const S3_AUTHORITY: &str = "s3.bench:9000";

/// Uploads `len` bytes through the worker at `worker_wasm`: the time taken,
/// then the guest's peak memory (largest linear memory, all memories).
pub async fn through_worker(
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
    // The bench measures the upload path, not the token check.
    context.set_config("allow-anonymous-uploads", "true");
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

/// Writes `len` bytes straight into the same kind of store, no Wasm and no
/// signing: the baseline.
pub async fn direct(len: u64) -> anyhow::Result<Duration> {
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
