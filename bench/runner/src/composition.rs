//! What composition costs: the composed worker against the monolith (the
//! same three components linked into one), a fresh instance per request,
//! interleaved ABAB: in each round the worker, then the monolith, each
//! timed in-process on every route and loaded over HTTP. Medians and
//! spreads over the rounds, so a slow spell of a shared machine falls on
//! both alike.

use std::time::Duration;

use wasmtime::component::Component;

use crate::{ROUTES, bench_worker, serve_and_load, time_requests};

/// One side's figures, one entry per round.
#[derive(Debug, Default)]
pub struct Side {
    /// Per route of [`ROUTES`], the in-process median of each round.
    pub in_process: Vec<Vec<Duration>>,
    /// Requests per second over HTTP (`GET /`), per round.
    pub rps: Vec<f64>,
}

/// Both sides, measured in the same rounds.
#[derive(Debug, Default)]
pub struct Figures {
    /// The composed `worker.wasm`.
    pub worker: Side,
    /// `monolith.wasm`.
    pub monolith: Side,
}

/// Runs `rounds` rounds: in each, `requests` in-process requests per route
/// and `secs` seconds of HTTP load from `connections` connections, worker
/// first, then monolith. Any failed request fails the bench.
pub async fn measure(
    worker: &Component,
    monolith: &Component,
    rounds: usize,
    requests: usize,
    connections: usize,
    secs: u64,
) -> anyhow::Result<Figures> {
    let mut figures = Figures::default();
    for side in [&mut figures.worker, &mut figures.monolith] {
        side.in_process = vec![Vec::new(); ROUTES.len()];
    }
    for _ in 0..rounds {
        for (component, side) in [
            (worker, &mut figures.worker),
            (monolith, &mut figures.monolith),
        ] {
            let served = bench_worker(component, None)?;
            for (route, (path, _)) in ROUTES.iter().enumerate() {
                let (median, _) = time_requests(&served, path, requests).await?;
                side.in_process[route].push(median);
            }
            let (warm, run) = serve_and_load(&served, connections, secs).await?;
            for report in [&warm, &run] {
                anyhow::ensure!(
                    report.transport_errors == 0 && report.failures() == 0,
                    "HTTP load: {} errors, {} non-2xx (first: {:?})",
                    report.transport_errors,
                    report.failures(),
                    report.first_error
                );
            }
            side.rps.push(run.successes_per_second());
        }
    }
    Ok(figures)
}
