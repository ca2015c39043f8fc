//! The limiter in front of the FastEdge worker with each counter in the
//! store that suits it (`target/edgeplug/limited-worker-fastedge-global.wasm`,
//! from `limited-worker-fastedge-global.wac`): page views add up across
//! PoPs in the central store, while each PoP keeps its own rate-limit
//! windows in its `cache-sync`. Tested with host-test's public API, on its
//! FastEdge fakes, with the central store an in-process [`KvGateway`].

use std::sync::Arc;

use anyhow::Result;
use host_test::artifacts::component_path;
use host_test::kv_gateway::GATEWAY_BUCKET;
use host_test::{
    FastEdge, HostContext, HttpWorker, KvGateway, MemoryKv, Pop, Request, Response, load_component,
};

/// The central store's token; no answer may contain it.
const GATEWAY_TOKEN: &str = "per-pop-windows-gateway-token-Nw5";
const CLIENT: &str = "x-client-ip";

/// One worker per PoP over one FastEdge platform, with a window of 3
/// requests per client (a week long, so a test never straddles two), and
/// the central store at `kv.test`.
fn pops(gateway: &KvGateway) -> Result<(HttpWorker, HttpWorker, FastEdge)> {
    let fastedge = FastEdge::new();
    fastedge.set_app_config("kv-rest-url", "http://kv.test:8079");
    fastedge.set_app_config("kv-rest-token", GATEWAY_TOKEN);
    fastedge.set_app_config("rate-limit-requests", "3");
    fastedge.set_app_config("rate-limit-window-seconds", "604800");
    let context = HostContext::new()
        .with_inherited_stdio(false)
        .with_fastedge(fastedge.clone());
    context
        .outbound()
        .route("kv.test:8079", Arc::new(gateway.clone()));
    let component = load_component(component_path("limited-worker-fastedge-global")?)?;
    let a = HttpWorker::new(&component, context.at_pop(Pop::new("a")))?;
    let b = HttpWorker::new(&component, context.at_pop(Pop::new("b")))?;
    Ok((a, b, fastedge))
}

async fn page_view(worker: &HttpWorker, client: &str) -> Result<Response> {
    Request::get("/").header(CLIENT, client).send(worker).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_views_add_up_across_pops_while_each_pop_limits_on_its_own() -> Result<()> {
    let gateway = KvGateway::new(Arc::new(MemoryKv::new()), GATEWAY_TOKEN)?;
    let (a, b, fastedge) = pops(&gateway)?;
    let client = "203.0.113.9";

    for n in 1..=3 {
        let response = page_view(&a, client).await?;
        assert_eq!(response.status, 200, "{}", response.text());
        assert_eq!(response.text(), format!("Page views: {n}"));
    }
    assert_eq!(
        page_view(&a, client).await?.status,
        429,
        "PoP a's window is full"
    );

    // PoP b has its own window for the same client, and the page views it
    // counts go on from PoP a's: they are global.
    for n in 4..=6 {
        let response = page_view(&b, client).await?;
        assert_eq!(response.status, 200, "{}", response.text());
        assert_eq!(response.text(), format!("Page views: {n}"));
    }
    let refused = page_view(&b, client).await?;
    assert_eq!(refused.status, 429);
    assert!(!refused.text().contains(GATEWAY_TOKEN));

    // Where each count lives: page views only in the central store, the
    // windows only in each PoP's cache, none of them central.
    let views = gateway
        .backend()
        .get(GATEWAY_BUCKET, "default:page_views")
        .await?;
    assert_eq!(views.as_deref(), Some(&b"6"[..]));
    let central = gateway.backend().list_keys(GATEWAY_BUCKET, None).await?;
    assert_eq!(central.keys, ["default:page_views"], "{:?}", central.keys);
    for pop in ["a", "b"] {
        assert_eq!(
            fastedge.cache_value(&Pop::new(pop), "default/page_views"),
            None,
            "page views are not counted per PoP"
        );
    }
    Ok(())
}
