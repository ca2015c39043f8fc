//! The rate limiter alone (`target/edgeplug/rate-limiter.wasm`), through the
//! public host-test API only: the host's fake `edgeplug:worker/counter`
//! behind it, the context's fake next handler in front of nothing, and a
//! manual wall clock, so a window rolls over without waiting for it.

use std::time::{Duration, UNIX_EPOCH};

use anyhow::Result;
use host_test::artifacts::component_path;
use host_test::{HostContext, HttpWorker, Request, SimClock, load_component};

const WINDOW_SECONDS: u64 = 60;

fn limiter(clock: &SimClock) -> Result<(HttpWorker, HostContext)> {
    // 30 s into a window, so advancing 30 s crosses into the next one.
    let start =
        UNIX_EPOCH + Duration::from_secs(1_800_000_000 / WINDOW_SECONDS * WINDOW_SECONDS + 30);
    let context = HostContext::new()
        .with_inherited_stdio(false)
        .with_wall_clock(start, clock.clone());
    context.set_config("rate-limit-requests", "3");
    context.set_config("rate-limit-window-seconds", WINDOW_SECONDS.to_string());
    context
        .next_handler()
        .respond("localhost", 200, "from the next handler");
    let component = load_component(component_path("rate-limiter")?)?;
    Ok((HttpWorker::new(&component, context.clone())?, context))
}

async fn get_as(worker: &HttpWorker, client: &str) -> Result<host_test::Response> {
    Request::get("/anything")
        .header("x-client-ip", client)
        .send(worker)
        .await
}

#[tokio::test]
async fn a_window_rolling_over_restores_the_budget() -> Result<()> {
    let clock = SimClock::manual();
    let (worker, context) = limiter(&clock)?;
    for _ in 0..3 {
        let response = get_as(&worker, "198.51.100.1").await?;
        assert_eq!(response.status, 200);
        assert_eq!(response.text(), "from the next handler");
    }
    let limited = get_as(&worker, "198.51.100.1").await?;
    assert_eq!(limited.status, 429);
    // 30 s left in the window.
    assert_eq!(limited.header("retry-after"), Some("30"));
    assert_eq!(
        context.next_handler().requests().len(),
        3,
        "the 4th never went on"
    );

    clock.advance(Duration::from_secs(30));
    assert_eq!(get_as(&worker, "198.51.100.1").await?.status, 200);
    assert_eq!(context.next_handler().requests().len(), 4);
    // The counter saw one key per window.
    let keys: std::collections::BTreeSet<String> = context
        .fake_counter()
        .calls()
        .into_iter()
        .map(|call| call.name)
        .collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
    Ok(())
}

#[tokio::test]
async fn the_next_handler_sees_the_request_as_sent() -> Result<()> {
    let clock = SimClock::manual();
    let (worker, context) = limiter(&clock)?;
    Request::post("/objects/x?by=2")
        .header("x-client-ip", "198.51.100.2")
        .header("x-trace", "abc")
        .body("payload")
        .send(&worker)
        .await?;
    let handed_on = context.next_handler().requests();
    assert_eq!(handed_on.len(), 1);
    assert_eq!(handed_on[0].method, "POST");
    assert_eq!(handed_on[0].path_and_query(), "/objects/x?by=2");
    assert_eq!(handed_on[0].header("x-trace"), Some("abc"));
    assert_eq!(handed_on[0].body_text(), "payload");
    Ok(())
}
