//! The rate limiter composed in front of edgeplug's worker
//! (`target/edgeplug/limited-worker.wasm`, from `limited-worker.wac`),
//! tested with host-test's public API only, as any user's component would be.

use anyhow::{Context as _, Result};
use host_test::artifacts::component_path;
use host_test::{HostContext, HttpWorker, KvError, KvOp, Request, Response, load_component};

const CLIENT: &str = "x-client-ip";

/// The limited worker with a fresh fake KV and the rate limit's config.
/// The window is a week, so that a test never straddles two windows.
fn limited_worker(requests: u64) -> Result<(HttpWorker, HostContext)> {
    let context = HostContext::new().with_inherited_stdio(false);
    context.set_config("rate-limit-requests", requests.to_string());
    context.set_config("rate-limit-window-seconds", "604800");
    let component = load_component(component_path("limited-worker")?)?;
    Ok((HttpWorker::new(&component, context.clone())?, context))
}

async fn page_view(worker: &HttpWorker, client: &str) -> Result<Response> {
    Request::get("/").header(CLIENT, client).send(worker).await
}

#[tokio::test]
async fn the_eleventh_request_in_a_window_of_ten_gets_429_with_retry_after() -> Result<()> {
    let (worker, context) = limited_worker(10)?;
    for n in 1..=10 {
        let response = page_view(&worker, "203.0.113.7").await?;
        assert_eq!(response.status, 200, "request {n}: {}", response.text());
        assert_eq!(response.text(), format!("Page views: {n}"));
    }

    let kv = context.fake_kv().context("the default fake KV")?;
    kv.clear_calls();
    let refused = page_view(&worker, "203.0.113.7").await?;
    assert_eq!(refused.status, 429);
    let retry_after: u64 = refused
        .header("retry-after")
        .context("retry-after")?
        .parse()?;
    assert!((1..=604_800).contains(&retry_after), "{retry_after}");
    let body = refused.json()?;
    assert_eq!(body["error"]["code"], "rate_limited");
    assert_eq!(body["error"]["retry_after"], retry_after);

    // The refused request never reached the worker: one increment, the
    // limiter's own, and the page views stayed at 10.
    let increments: Vec<_> = kv
        .calls()
        .into_iter()
        .filter(|c| c.op == KvOp::Increment)
        .collect();
    assert_eq!(increments.len(), 1, "{increments:?}");
    let key = increments[0].key.as_deref().unwrap_or_default();
    assert!(
        key.starts_with("rl:") && key.ends_with(":203.0.113.7"),
        "{key}"
    );
    let views = kv.value("default", "page_views").await?;
    assert_eq!(views.as_deref(), Some(&b"10"[..]));
    Ok(())
}

#[tokio::test]
async fn other_clients_keep_their_own_budget() -> Result<()> {
    let (worker, _context) = limited_worker(2)?;
    for _ in 0..2 {
        assert_eq!(page_view(&worker, "198.51.100.1").await?.status, 200);
    }
    assert_eq!(page_view(&worker, "198.51.100.1").await?.status, 429);
    assert_eq!(page_view(&worker, "198.51.100.2").await?.status, 200);
    // Without the configured header, the first x-forwarded-for entry counts.
    let forwarded = Request::get("/")
        .header("x-forwarded-for", "198.51.100.1, 10.0.0.1")
        .send(&worker)
        .await?;
    assert_eq!(forwarded.status, 429);
    Ok(())
}

#[tokio::test]
async fn requests_reach_the_worker_whole() -> Result<()> {
    let (worker, context) = limited_worker(10)?;
    context.set_config("allow-anonymous-counter-writes", "true");
    let response = Request::post("/counters/likes?by=5")
        .header(CLIENT, "203.0.113.7")
        .send(&worker)
        .await?;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json()?["value"], 5);
    // The worker's own errors come back untouched.
    let missing = Request::get("/nowhere")
        .header(CLIENT, "203.0.113.7")
        .send(&worker)
        .await?;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()?["error"]["code"], "not_found");
    Ok(())
}

#[tokio::test]
async fn a_failing_counter_fails_open_unless_configured_closed() -> Result<()> {
    let (worker, context) = limited_worker(10)?;
    let kv = context.fake_kv().context("the default fake KV")?;
    // The limiter's increment comes first in each request: fail only that one.
    kv.fail_next(KvOp::Increment, KvError::Other("kv down".into()), 1);
    let open = page_view(&worker, "203.0.113.7").await?;
    assert_eq!(
        (open.status.as_u16(), open.text()),
        (200, "Page views: 1".into())
    );

    context.set_config("rate-limit-on-error", "closed");
    kv.fail_next(KvOp::Increment, KvError::Other("kv down".into()), 1);
    let closed = page_view(&worker, "203.0.113.7").await?;
    assert_eq!(closed.status, 503);
    assert_eq!(closed.json()?["error"]["code"], "unavailable");
    assert_eq!(
        kv.value("default", "page_views").await?.as_deref(),
        Some(&b"1"[..])
    );
    Ok(())
}

#[tokio::test]
async fn bad_config_is_a_500_naming_the_key() -> Result<()> {
    let (worker, context) = limited_worker(10)?;
    context.set_config("rate-limit-requests", "ten");
    let response = page_view(&worker, "203.0.113.7").await?;
    assert_eq!(response.status, 500);
    let message = response.json()?["error"]["message"].to_string();
    assert!(message.contains("rate-limit-requests"), "{message}");
    Ok(())
}

#[tokio::test]
async fn the_public_counter_route_cannot_touch_the_limiters_counters() -> Result<()> {
    let (worker, context) = limited_worker(10)?;
    // Even with counter writes open to anyone ...
    context.set_config("allow-anonymous-counter-writes", "true");
    for _ in 0..2 {
        assert_eq!(page_view(&worker, "203.0.113.7").await?.status, 200);
    }
    let kv = context.fake_kv().context("the default fake KV")?;
    let victims_key = kv
        .calls()
        .into_iter()
        .filter_map(|c| c.key)
        .find(|key| key.starts_with("rl:"))
        .context("the limiter's counter")?;
    let encoded = victims_key.replace(':', "%3A");
    // ... an attacker can neither lock the victim out nor read their count,
    // however the name is spelled.
    for path in [
        format!("/counters/{victims_key}?by=100"),
        format!("/counters/{encoded}?by=100"),
    ] {
        let write = Request::post(&path)
            .header(CLIENT, "198.51.100.66")
            .send(&worker)
            .await?;
        assert_eq!(write.status, 400, "{path}: {}", write.text());
        let read_path = path.split('?').next().unwrap_or_default().to_owned();
        let read = Request::get(&read_path)
            .header(CLIENT, "198.51.100.66")
            .send(&worker)
            .await?;
        assert_eq!(read.status, 400, "{read_path}: {}", read.text());
        assert!(!read.text().contains("\"value\""), "{}", read.text());
    }
    assert_eq!(
        kv.value("default", &victims_key).await?.as_deref(),
        Some(&b"2"[..])
    );
    // The victim's budget is untouched.
    assert_eq!(page_view(&worker, "203.0.113.7").await?.status, 200);
    Ok(())
}
