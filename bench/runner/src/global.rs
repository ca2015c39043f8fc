//! Global counters: what a counter costs when its store is a central one
//! reached over the Redis REST protocol (`worker-global.wasm` against
//! `edgeplug-host kv-gateway`, here the same gateway in-process on loopback
//! TCP, over an in-memory store) instead of the host's own `wasi:keyvalue`
//! (`worker.wasm`). Local and global run interleaved, round by round.
//! Also: how many HTTP round trips to the gateway one request makes, and
//! what the gateway itself serves per second. A failed request, or a count
//! that does not add up, fails the bench.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use edgeplug_host::kv_gateway::{GATEWAY_BUCKET, KvGateway};
use host_test::load::{self, LoadPlan, LoadReport, Until};
use host_test::{HostContext, HttpWorker, MemoryKv};
use wasmtime::component::Component;

/// The bench's gateway token (a local, throw-away one).
const TOKEN: &str = "edgeplug-bench-gateway-token";

/// The figures of one run.
#[derive(Debug, Default)]
pub struct Figures {
    /// Median in-process `GET /counters/x` on `worker.wasm`, per round.
    pub local: Vec<Duration>,
    /// The same on `worker-global.wasm`, per round.
    pub global: Vec<Duration>,
    /// Gateway requests per `GET /counters/x` on the global worker.
    pub trips_per_read: f64,
    /// Gateway requests per `GET /` (an increment) on the global worker.
    pub trips_per_increment: f64,
    /// The gateway loaded directly with `INCR`.
    pub gateway: LoadReport,
}

/// A gateway on loopback TCP over an in-memory store.
async fn start_gateway() -> anyhow::Result<(KvGateway, SocketAddr)> {
    let gateway = KvGateway::new(Arc::new(MemoryKv::new()), TOKEN)?;
    let addr = gateway
        .spawn_server(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await?;
    Ok((gateway, addr))
}

fn global_worker(component: &Component, gateway: SocketAddr) -> anyhow::Result<HttpWorker> {
    let context = HostContext::new().with_inherited_stdio(false);
    context.set_config("kv-rest-url", format!("http://{gateway}"));
    context.set_config("kv-rest-token", TOKEN);
    context.outbound().allow_network(true);
    HttpWorker::new(component, context)
}

/// Runs `rounds` rounds of `requests` in-process `GET /counters/x`, local
/// then global, counts round trips, and loads the gateway with
/// `connections` connections for `secs` seconds.
pub async fn measure(
    local: &Component,
    global: &Component,
    rounds: usize,
    requests: usize,
    connections: usize,
    secs: u64,
) -> anyhow::Result<Figures> {
    let (gateway, addr) = start_gateway().await?;
    let local_worker = crate::bench_worker(local, None)?;
    let global_worker = global_worker(global, addr)?;
    let mut figures = Figures::default();
    for _ in 0..rounds {
        let (median, _) = crate::time_requests(&local_worker, "/counters/x", requests).await?;
        figures.local.push(median);
        let (median, _) = crate::time_requests(&global_worker, "/counters/x", requests).await?;
        figures.global.push(median);
    }

    let trips = |before: u64, requests: usize| {
        (gateway.requests_served() - before) as f64 / requests as f64
    };
    let before = gateway.requests_served();
    for _ in 0..requests {
        let response = global_worker.get("/counters/x").await?;
        anyhow::ensure!(
            response.status == 200,
            "GET /counters/x: {}",
            response.status
        );
    }
    figures.trips_per_read = trips(before, requests);
    let before = gateway.requests_served();
    for _ in 0..requests {
        let response = global_worker.get("/").await?;
        anyhow::ensure!(response.status == 200, "GET /: {}", response.status);
    }
    figures.trips_per_increment = trips(before, requests);
    let views = gateway
        .backend()
        .get(GATEWAY_BUCKET, "default:page_views")
        .await?
        .context("no page views stored")?;
    anyhow::ensure!(
        views == requests.to_string().into_bytes(),
        "{requests} page views stored as {:?}",
        String::from_utf8_lossy(&views)
    );

    let plan = LoadPlan::get(
        vec![addr],
        connections,
        Until::Elapsed(Duration::from_secs(secs)),
        "/incr/bench-load",
    )
    .with_header(
        http::header::AUTHORIZATION,
        http::HeaderValue::from_str(&format!("Bearer {TOKEN}"))?,
    )
    .with_request_timeout(load::REQUEST_TIMEOUT);
    let run = load::run(&plan).await?;
    crate::ensure_clean("gateway load", &run)?;
    let counted = gateway
        .backend()
        .get(GATEWAY_BUCKET, "bench-load")
        .await?
        .context("no load counter stored")?;
    anyhow::ensure!(
        counted == run.successes().to_string().into_bytes(),
        "{} INCRs answered, the count is {:?}",
        run.successes(),
        String::from_utf8_lossy(&counted)
    );
    figures.gateway = run;
    Ok(figures)
}
