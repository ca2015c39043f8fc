//! What composition costs: the composed worker against the monolith (the
//! same three components linked into one), a fresh instance per request.
//!
//! The two take turns at short intervals, so that a slow spell of a shared
//! machine (another tenant's load lasts seconds) falls on both alike: in
//! process, blocks of [`IN_PROCESS_BLOCK`] requests alternate; over HTTP,
//! both are served at once and loaded in turn for [`HTTP_SLICE`] at a time.
//! Each round yields one figure per side; the report takes medians and
//! spreads over the rounds.

use std::time::Duration;

use host_test::HttpWorker;
use host_test::load;
use wasmtime::component::Component;

use crate::{
    ROUTES, bench_worker, ensure_clean, get_root_for, serve_on_loopback, time_into, warm_up,
};

/// In process, how many requests one side gets in a row before the other.
const IN_PROCESS_BLOCK: usize = 100;

/// Over HTTP, how long one side is loaded before the other.
const HTTP_SLICE: Duration = Duration::from_secs(1);

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
/// and side, then `secs` seconds of HTTP load per side from `connections`
/// connections. Any failed request fails the bench.
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
        let served = [bench_worker(worker, None)?, bench_worker(monolith, None)?];
        for (route, (path, _)) in ROUTES.iter().enumerate() {
            let [w, m] = time_in_turns(&served, path, requests).await?;
            figures.worker.in_process[route].push(w);
            figures.monolith.in_process[route].push(m);
        }
        let [w, m] = load_in_turns(&served, connections, Duration::from_secs(secs)).await?;
        figures.worker.rps.push(w);
        figures.monolith.rps.push(m);
    }
    Ok(figures)
}

/// Times `requests` requests to `path` on each of `sides`, the sides taking
/// turns every [`IN_PROCESS_BLOCK`] requests: each side's median.
async fn time_in_turns(
    sides: &[HttpWorker; 2],
    path: &str,
    requests: usize,
) -> anyhow::Result<[Duration; 2]> {
    let mut times = [Vec::with_capacity(requests), Vec::with_capacity(requests)];
    for side in sides {
        warm_up(side, path).await?;
    }
    while times[0].len() < requests {
        for (side, times) in sides.iter().zip(times.iter_mut()) {
            let block = IN_PROCESS_BLOCK.min(requests - times.len());
            time_into(side, path, block, times).await?;
        }
    }
    Ok(times.map(|mut times| {
        times.sort_unstable();
        load::quantile(&times, 0.5)
    }))
}

/// Serves both `sides` on loopback ports with the real server code and
/// loads them in turn with `GET /` from `connections` connections, a
/// [`HTTP_SLICE`] at a time, until each had `total`: each side's 2xx
/// responses per second over its slices. A warm-up slice each comes first.
async fn load_in_turns(
    sides: &[HttpWorker; 2],
    connections: usize,
    total: Duration,
) -> anyhow::Result<[f64; 2]> {
    let mut addrs = Vec::new();
    let mut servers = Vec::new();
    for side in sides {
        let (addr, server) = serve_on_loopback(side).await?;
        addrs.push(addr);
        servers.push(server);
    }
    let slice = |addr| async move {
        let report = load::run(&get_root_for(addr, connections, HTTP_SLICE)).await?;
        ensure_clean("HTTP load", &report)?;
        anyhow::Ok(report)
    };
    for addr in &addrs {
        slice(*addr).await?;
    }
    let mut successes = [0u64; 2];
    let mut elapsed = [Duration::ZERO; 2];
    while elapsed[0] < total {
        for (i, addr) in addrs.iter().enumerate() {
            let report = slice(*addr).await?;
            successes[i] += report.successes();
            elapsed[i] += report.elapsed;
        }
    }
    for server in servers {
        server.abort();
    }
    Ok([0, 1].map(|i| successes[i] as f64 / elapsed[i].as_secs_f64().max(f64::EPSILON)))
}
