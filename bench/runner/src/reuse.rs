//! Instance reuse: the same worker with a fresh instance per request and
//! with reuse (up to 1000 requests per instance, as `wasmtime serve
//! --max-instance-reuse-count 1000`), interleaved round by round, in-process
//! and over loopback HTTP. Any failed request or lost page view fails the
//! bench: a fast wrong answer is no figure.

use std::time::Duration;

use anyhow::Context as _;
use host_test::{HttpWorker, InstanceReuse};
use wasmtime::component::Component;

/// How many requests an instance answers with reuse on.
pub const REQUESTS_PER_INSTANCE: u32 = 1000;

/// One mode's figures, one entry per round.
#[derive(Debug, Default)]
pub struct Mode {
    /// Median in-process time of `GET /`, per round.
    pub in_process: Vec<Duration>,
    /// Requests per second over HTTP, per round.
    pub rps: Vec<f64>,
}

/// Both modes, measured in the same rounds.
#[derive(Debug, Default)]
pub struct Figures {
    /// A fresh instance per request.
    pub fresh: Mode,
    /// Instances reused.
    pub reused: Mode,
}

/// Runs `rounds` rounds, fresh then reused in each, of `requests`
/// in-process `GET /` and `secs` seconds of HTTP load from `connections`
/// connections.
pub async fn measure(
    component: &Component,
    rounds: usize,
    requests: usize,
    connections: usize,
    secs: u64,
) -> anyhow::Result<Figures> {
    let mut figures = Figures::default();
    for _ in 0..rounds {
        for (reuse, mode) in [(false, &mut figures.fresh), (true, &mut figures.reused)] {
            let reuse = reuse.then(|| InstanceReuse::up_to(REQUESTS_PER_INSTANCE));
            let worker = crate::bench_worker(component, reuse)?;
            let (median, _) = crate::time_requests(&worker, "/", requests).await?;
            mode.in_process.push(median);
            mode.rps
                .push(http_rps(worker, connections, secs).await.with_context(|| {
                    format!(
                        "HTTP load, {}",
                        if reuse.is_some() { "reused" } else { "fresh" }
                    )
                })?);
        }
    }
    Ok(figures)
}

/// Serves `worker` on loopback and loads it with `GET /` for `secs`
/// seconds after a warm-up second; fails on any error, any non-2xx, or a
/// page-view count that differs from the requests answered.
async fn http_rps(worker: HttpWorker, connections: usize, secs: u64) -> anyhow::Result<f64> {
    let before = page_views(&worker).await?;
    let (warm, run) = crate::serve_and_load(&worker, connections, secs).await?;
    crate::ensure_clean("warm-up", &warm)?;
    crate::ensure_clean("load", &run)?;
    // Reading the count is a request too: it does not count a page view.
    let counted = page_views(&worker).await? - before;
    let answered = warm.successes() + run.successes();
    anyhow::ensure!(
        counted == answered,
        "page_views went up by {counted} for {answered} answered GET /"
    );
    Ok(run.successes_per_second())
}

async fn page_views(worker: &HttpWorker) -> anyhow::Result<u64> {
    worker.get("/counters/page_views").await?.json()?["value"]
        .as_u64()
        .context("no page_views value")
}
