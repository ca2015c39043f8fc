//! Global counters (`worker-global.wasm`, `worker-fastedge-global.wasm`):
//! the counter's `wasi:keyvalue` is the `redis-rest-kv` adapter, which
//! reaches one central store over outgoing HTTP with the Redis REST
//! protocol, served here by `edgeplug-host kv-gateway` ([`KvGateway`]).
//!
//! - The portable global worker runs on a plain wasi-http host, with no
//!   `wasi:keyvalue` linked, and its count survives a restart.
//! - Two PoPs (two `serve` processes, or two FastEdge fakes) add up to one
//!   count through one gateway, on Redis or on redb.
//! - Faults: an unreachable gateway is a 503 JSON error; a lost answer to
//!   an increment is not retried (it would count twice), a lost answer to a
//!   read is; a wrong token writes nothing and never shows.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use edgeplug_host::kv_gateway::{GATEWAY_BUCKET, KvGateway};
use edgeplug_host::{
    ConfigValues, HostImports, HttpWorker, MemoryKv, OutboundHandler, WorkerContext,
};
use host_test::load::{self, LoadPlan, Until};
use http_body_util::{BodyExt, Full};
use wasmtime_wasi_http::{Error as HttpError, WasiBody};

use common::served::{
    Server, exchange_with, gateway_command, serve_command, start_command, start_gateway,
};

/// The gateway's bearer token; no response or log line may contain it.
const GATEWAY_TOKEN: &str = "kv-gateway-token-Vb3mL9";
/// Where the workers reach the in-process gateway.
const GATEWAY_AUTHORITY: &str = "kv.test:8079";

/// The worker config of a global flavor pointed at the in-process gateway.
fn global_config(token: &str) -> ConfigValues {
    ConfigValues::new()
        .with("kv-rest-url", format!("http://{GATEWAY_AUTHORITY}"))
        .with("kv-rest-token", token)
        .with("allow-anonymous-counter-writes", "true")
}

/// A plain wasi-http host (WASI, wasi-http and `wasi:config` only) running
/// the portable global worker, its outgoing requests to `gateway` routed
/// in-process.
fn plain_host_worker(gateway: Arc<dyn OutboundHandler>, token: &str) -> anyhow::Result<HttpWorker> {
    let context = WorkerContext::new()
        .with_imports(HostImports::WasiHttpAndConfig)
        .with_inherited_stdio(false);
    context.replace_config(global_config(token));
    context.outbound().route(GATEWAY_AUTHORITY, gateway);
    HttpWorker::new(&common::component("worker-global"), context)
}

fn gateway() -> anyhow::Result<KvGateway> {
    Ok(KvGateway::new(Arc::new(MemoryKv::new()), GATEWAY_TOKEN)?)
}

/// The stored value of a counter of the default bucket, read from the
/// gateway's store (the adapter's key is `{bucket}:{name}`).
async fn stored(gateway: &KvGateway, counter: &str) -> anyhow::Result<Option<String>> {
    let value = gateway
        .backend()
        .get(GATEWAY_BUCKET, &format!("default:{counter}"))
        .await?;
    Ok(value.map(|v| String::from_utf8_lossy(&v).into_owned()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_global_worker_needs_no_keyvalue_and_its_count_survives_a_restart() -> anyhow::Result<()>
{
    let imports: Vec<String> = common::component("worker-global")
        .component_type()
        .imports(edgeplug_host::engine())
        .map(|(name, _)| name.to_owned())
        .collect();
    assert!(
        !imports.iter().any(|name| name.starts_with("wasi:keyvalue")),
        "{imports:?}"
    );
    // The plain host really lacks the store: the portable worker cannot
    // even be set up on it.
    let plain = WorkerContext::new().with_imports(HostImports::WasiHttpAndConfig);
    let refused = HttpWorker::new(&common::component("worker"), plain)
        .err()
        .map(|e| format!("{e:#}"))
        .unwrap_or_default();
    assert!(refused.contains("wasi:keyvalue"), "{refused}");

    let data = tempfile::tempdir()?;
    let store = Arc::new(edgeplug_host::kv::RedbKv::open(
        data.path().join("gw.redb"),
    )?);
    let gateway = KvGateway::new(store, GATEWAY_TOKEN)?;
    let worker = plain_host_worker(Arc::new(gateway.clone()), GATEWAY_TOKEN)?;
    for expected in 1..=3 {
        let response = worker.get("/").await?;
        assert_eq!(response.status, 200, "{}", response.text());
        assert_eq!(response.text(), format!("Page views: {expected}"));
    }
    drop(worker);
    // A new worker (and a new gateway on the same file): the count goes on.
    drop(gateway);
    let store = Arc::new(edgeplug_host::kv::RedbKv::open(
        data.path().join("gw.redb"),
    )?);
    let gateway = KvGateway::new(store, GATEWAY_TOKEN)?;
    let worker = plain_host_worker(Arc::new(gateway.clone()), GATEWAY_TOKEN)?;
    assert_eq!(worker.get("/").await?.text(), "Page views: 4");
    // One round trip to the gateway per page view.
    assert_eq!(gateway.requests_served(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_fastedge_pops_count_globally_through_one_gateway() -> anyhow::Result<()> {
    let gateway = gateway()?;
    let pops: Vec<HttpWorker> = (0..2)
        .map(|_| {
            let fastedge = edgeplug_host::fastedge::LocalFastEdge::new();
            for (key, value) in global_config(GATEWAY_TOKEN).iter() {
                fastedge.set_app_config(key, value);
            }
            let context = WorkerContext::new()
                .with_fastedge(Arc::new(fastedge))
                .with_inherited_stdio(false);
            context
                .outbound()
                .route(GATEWAY_AUTHORITY, Arc::new(gateway.clone()));
            HttpWorker::new(&common::component("worker-fastedge-global"), context)
        })
        .collect::<anyhow::Result<_>>()?;
    for round in 0..10 {
        let response = pops[round % 2]
            .request("POST", "/counters/load", "")
            .await?;
        assert_eq!(response.status, 200, "{}", response.text());
    }
    for pop in &pops {
        let json = pop.get("/counters/load").await?.json()?;
        assert_eq!(json["value"], 10, "every PoP reads the global count");
    }
    assert_eq!(stored(&gateway, "load").await?.as_deref(), Some("10"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_gateway_is_a_503_json_error_without_the_token() -> anyhow::Result<()> {
    // A port nothing listens on: bound, then closed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let context = WorkerContext::new()
        .with_imports(HostImports::WasiHttpAndConfig)
        .with_inherited_stdio(false);
    context.replace_config(
        global_config(GATEWAY_TOKEN).with("kv-rest-url", format!("http://{closed}")),
    );
    context.outbound().allow_network(true);
    let worker = HttpWorker::new(&common::component("worker-global"), context)?;
    for (method, path) in [
        ("GET", "/"),
        ("GET", "/counters/x"),
        ("POST", "/counters/x"),
    ] {
        let response = worker.request(method, path, "").await?;
        assert_eq!(response.status, 503, "{method} {path}: {}", response.text());
        let json = response.json()?;
        assert_eq!(json["error"]["code"], "unavailable", "{json}");
        assert!(!response.text().contains(GATEWAY_TOKEN));
    }
    Ok(())
}

/// Forwards to the gateway, but loses the answer to the first `lose`
/// requests whose command contains `command`: the gateway has run them.
struct LosesAnswers {
    gateway: KvGateway,
    command: &'static str,
    lose: AtomicUsize,
    seen: AtomicUsize,
}

impl LosesAnswers {
    fn new(gateway: KvGateway, command: &'static str, lose: usize) -> Arc<Self> {
        Arc::new(Self {
            gateway,
            command,
            lose: AtomicUsize::new(lose),
            seen: AtomicUsize::new(0),
        })
    }
}

#[async_trait]
impl OutboundHandler for LosesAnswers {
    async fn handle(
        &self,
        request: http::Request<WasiBody>,
    ) -> Result<http::Response<WasiBody>, HttpError> {
        let (parts, body) = request.into_parts();
        let body = body.collect().await?.to_bytes();
        let matches = String::from_utf8_lossy(&body).contains(self.command);
        let request = http::Request::from_parts(parts, Full::new(body));
        let response = self.gateway.handle(request).await;
        if matches {
            self.seen.fetch_add(1, Ordering::SeqCst);
            let lost = self
                .lose
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if lost {
                return Err(HttpError::ConnectionTerminated);
            }
        }
        Ok(response.map(|body: Bytes| {
            Full::new(body)
                .map_err(|never| match never {})
                .boxed_unsync()
        }))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_to_an_increment_is_not_retried_and_one_to_a_read_is() -> anyhow::Result<()> {
    let gateway = gateway()?;
    let increments = LosesAnswers::new(gateway.clone(), "INCRBY", 1);
    let worker = plain_host_worker(increments.clone(), GATEWAY_TOKEN)?;
    let response = worker.request("POST", "/counters/lost?by=5", "").await?;
    assert_eq!(response.status, 503, "{}", response.text());
    let message = response.json()?["error"]["message"].to_string();
    assert!(message.contains("may or may not"), "{message}");
    // Sent once, applied once: a retry would have made it 10.
    assert_eq!(increments.seen.load(Ordering::SeqCst), 1);
    assert_eq!(stored(&gateway, "lost").await?.as_deref(), Some("5"));

    let reads = LosesAnswers::new(gateway.clone(), "GET", 1);
    let worker = plain_host_worker(reads.clone(), GATEWAY_TOKEN)?;
    let response = worker.get("/counters/lost").await?;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json()?["value"], 5);
    assert_eq!(
        reads.seen.load(Ordering::SeqCst),
        2,
        "one lost, one retried"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_gateway_token_writes_nothing_and_never_shows() -> anyhow::Result<()> {
    let gateway = gateway()?;
    let wrong = "not-the-gateway-token-Xc2";
    let worker = plain_host_worker(Arc::new(gateway.clone()), wrong)?;
    for (method, path) in [("GET", "/"), ("POST", "/counters/x")] {
        let response = worker.request(method, path, "").await?;
        // The operator's token is wrong, not the client's: 503, saying
        // which setting to fix, never a 401 that asks the client for one.
        assert_eq!(response.status, 503, "{method} {path}: {}", response.text());
        let json = response.json()?;
        assert_eq!(json["error"]["code"], "unavailable", "{json}");
        let message = json["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("kv-rest-token"), "{message}");
        assert!(!response.text().contains(wrong));
        assert!(!response.text().contains(GATEWAY_TOKEN));
    }
    assert_eq!(stored(&gateway, "page_views").await?, None);
    assert_eq!(stored(&gateway, "x").await?, None);
    assert_eq!(gateway.requests_served(), 0);
    Ok(())
}

// ---------------------------------------------------------------------------
// The real binaries: two `serve --flavor global` PoPs and `kv-gateway`.
// ---------------------------------------------------------------------------

/// `serve --flavor global` against the gateway at `gateway`, its counters
/// under `prefix` in the central store.
fn start_pop(data: &Path, gateway: &str, prefix: &str) -> anyhow::Result<Server> {
    let component = host_test::artifacts::component_path("worker-global")?;
    let url = format!("kv-rest-url=http://{gateway}");
    let prefix = format!("kv-rest-key-prefix={prefix}");
    let component = component.display().to_string();
    let mut command = serve_command(
        data,
        &[
            "--flavor",
            "global",
            "--component",
            &component,
            "--config",
            &url,
            "--config",
            &prefix,
            "--config",
            "allow-anonymous-counter-writes=true",
        ],
    )?;
    command.env("EDGEPLUG_KV_REST_TOKEN", GATEWAY_TOKEN);
    start_command(command)
}

/// What [`two_pops_add_up`] leaves running: the gateways, and the folder
/// their store (and the PoPs' data) lives in.
struct Central {
    gateways: Vec<Server>,
    _data: tempfile::TempDir,
}

/// 32 clients × 500 `POST /counters/load` split over two PoPs, each PoP on
/// its own gateway when `gateways` is 2 (all of them over `kv`), else both
/// on one: both read 16,000.
fn two_pops_add_up(kv: &str, gateways: usize) -> anyhow::Result<Central> {
    let data = tempfile::tempdir()?;
    let gateways = (0..gateways)
        .map(|_| start_gateway(gateway_command(data.path(), kv, GATEWAY_TOKEN)?))
        .collect::<anyhow::Result<Vec<_>>>()?;
    // A prefix of its own, so a rerun against the same Redis starts at zero.
    let prefix = format!(
        "run-{}-{}:",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos()
    );
    let mut pops = Vec::new();
    for (n, name) in ["pop-a", "pop-b"].into_iter().enumerate() {
        let dir = data.path().join(name);
        std::fs::create_dir_all(&dir)?;
        let gateway = &gateways[n % gateways.len()];
        pops.push(start_pop(&dir, &gateway.addr, &prefix)?);
    }
    assert!(pops[0].printed("central, over Redis REST"));
    let targets: Vec<SocketAddr> = pops
        .iter()
        .map(Server::socket_addr)
        .collect::<anyhow::Result<_>>()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let plan = LoadPlan::get(targets, 32, Until::Requests(500), "/counters/load")
        .with_method(http::Method::POST);
    let report = runtime.block_on(load::run(&plan))?;
    assert_eq!(report.successes(), 16_000, "{report:?}");
    for pop in &pops {
        let (status, body) = get(&pop.addr, "/counters/load", &[])?;
        assert_eq!(status, 200);
        let json: serde_json::Value = serde_json::from_slice(&body)?;
        assert_eq!(json["value"], 16_000, "{json}");
        pop.assert_no_secret_printed();
        assert!(
            !pop.stdout
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.contains(GATEWAY_TOKEN)),
            "the gateway token was printed"
        );
    }
    Ok(Central {
        gateways,
        _data: data,
    })
}

/// One HTTP/1.1 exchange with `headers` and no others; the status and
/// the body.
fn exchange(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> anyhow::Result<(u16, Vec<u8>)> {
    let (status, _, body) = exchange_with(addr, method, path, headers, body)?;
    Ok((status, body))
}

fn get(addr: &str, path: &str, headers: &[(&str, &str)]) -> anyhow::Result<(u16, Vec<u8>)> {
    exchange(addr, "GET", path, headers, b"")
}

#[test]
fn two_pops_on_two_gateways_share_one_count_in_redis() -> anyhow::Result<()> {
    let url = std::env::var("EDGEPLUG_REDIS_URL")
        .map_err(|_| anyhow::anyhow!("EDGEPLUG_REDIS_URL is not set: run `cargo xtask test`"))?;
    // Redis is the distributed part: each PoP talks to a gateway of its own.
    two_pops_add_up(&url, 2)?;
    Ok(())
}

#[test]
fn two_pops_share_one_count_through_a_gateway_on_redb_which_refuses_bad_input() -> anyhow::Result<()>
{
    let central = two_pops_add_up("gateway.redb", 1)?;
    let gateway = &central.gateways[0];
    let auth = format!("Bearer {GATEWAY_TOKEN}");
    let json =
        |body: &[u8]| -> anyhow::Result<serde_json::Value> { Ok(serde_json::from_slice(body)?) };

    // A wrong or missing token: 401, and nothing written.
    for headers in [vec![], vec![("authorization", "Bearer wrong")]] {
        let (status, body) = exchange(
            &gateway.addr,
            "POST",
            "/",
            &headers,
            br#"["INCRBY","intruder","9"]"#,
        )?;
        assert_eq!(status, 401);
        assert_eq!(json(&body)?, serde_json::json!({"error": "Unauthorized"}));
    }
    let authorized = [("authorization", auth.as_str())];
    let (_, body) = exchange(
        &gateway.addr,
        "POST",
        "/",
        &authorized,
        br#"["EXISTS","intruder"]"#,
    )?;
    assert_eq!(json(&body)?, serde_json::json!({"result": 0}));

    // A malformed command: a JSON error.
    let (status, body) = exchange(
        &gateway.addr,
        "POST",
        "/",
        &authorized,
        br#"["INCRBY","k"]"#,
    )?;
    assert_eq!(status, 400);
    assert!(
        json(&body)?["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("ERR "))
    );

    // A value that is not UTF-8 comes back byte for byte.
    let value: Vec<u8> = vec![0xff, 0xfe, 0x00, 0x80, b'{', 0xc3];
    let (status, _) = exchange(
        &gateway.addr,
        "POST",
        "/set/bin%3Avalue",
        &authorized,
        &value,
    )?;
    assert_eq!(status, 200);
    let with_base64 = [
        ("authorization", auth.as_str()),
        ("upstash-encoding", "base64"),
    ];
    let (_, body) = exchange(
        &gateway.addr,
        "POST",
        "/",
        &with_base64,
        br#"["GET","bin:value"]"#,
    )?;
    let encoded = json(&body)?["result"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(base64_simd::STANDARD.decode_to_vec(encoded)?, value);
    // Without base64 the gateway refuses to mangle it.
    let (status, body) = exchange(
        &gateway.addr,
        "POST",
        "/",
        &authorized,
        br#"["GET","bin:value"]"#,
    )?;
    assert_eq!(status, 400);
    assert!(
        json(&body)?["error"]
            .as_str()
            .is_some_and(|e| e.contains("base64"))
    );
    Ok(())
}
