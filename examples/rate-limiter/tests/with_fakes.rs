//! The rate limiter in front of the entry alone
//! (`target/edgeplug/limiter-over-entry.wasm`), with the test host's fake
//! `edgeplug:worker/counter` and `uploader` behind both: every counter call
//! the limiter makes is visible, and can be made to fail.

use anyhow::{Context as _, Result};
use host_test::artifacts::component_path;
use host_test::bindings::WitError;
use host_test::{CounterCall, HostContext, HttpWorker, Request, load_component};

const WEEK: u64 = 604_800;

fn limiter_over_entry(requests: u64) -> Result<(HttpWorker, HostContext)> {
    let context = HostContext::new().with_inherited_stdio(false);
    context.set_config("rate-limit-requests", requests.to_string());
    // A week-long window, so that a test never straddles two windows.
    context.set_config("rate-limit-window-seconds", WEEK.to_string());
    let component = load_component(component_path("limiter-over-entry")?)?;
    Ok((HttpWorker::new(&component, context.clone())?, context))
}

/// The window a request sent now falls in.
fn window_now() -> Result<u64> {
    Ok(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs()
        / WEEK)
}

fn increment(name: &str) -> CounterCall {
    CounterCall {
        name: name.to_owned(),
        delta: Some(1),
    }
}

#[tokio::test]
async fn each_request_counts_once_for_its_client_and_window() -> Result<()> {
    let (worker, context) = limiter_over_entry(2)?;
    let window = window_now()?;
    for _ in 0..3 {
        Request::get("/")
            .header("x-client-ip", "203.0.113.7")
            .send(&worker)
            .await?;
    }
    let ours = format!("rl:{window}:203.0.113.7");
    // Two requests went through (the limiter's count, then the entry's page
    // view); the third stopped at the limiter.
    assert_eq!(
        context.fake_counter().calls(),
        [
            increment(&ours),
            increment("page_views"),
            increment(&ours),
            increment("page_views"),
            increment(&ours),
        ]
    );
    assert_eq!(context.fake_counter().value("page_views"), 2);
    Ok(())
}

#[tokio::test]
async fn requests_naming_no_client_share_one_budget() -> Result<()> {
    let (worker, context) = limiter_over_entry(1)?;
    assert_eq!(Request::get("/").send(&worker).await?.status, 200);
    assert_eq!(Request::get("/").send(&worker).await?.status, 429);
    let first = &context.fake_counter().calls()[0];
    assert_eq!(first.name, format!("rl:{}:anonymous", window_now()?));
    Ok(())
}

#[tokio::test]
async fn an_overlong_client_id_is_refused_without_counting() -> Result<()> {
    let (worker, context) = limiter_over_entry(10)?;
    let response = Request::get("/")
        .header("x-client-ip", "9".repeat(49))
        .send(&worker)
        .await?;
    assert_eq!(response.status, 400);
    assert_eq!(response.json()?["error"]["code"], "invalid_input");
    assert!(context.fake_counter().calls().is_empty());
    Ok(())
}

#[tokio::test]
async fn with_the_counter_down_bodies_still_pass_unless_failing_closed() -> Result<()> {
    let (worker, context) = limiter_over_entry(10)?;
    context.set_config("allow-anonymous-uploads", "true");
    context
        .fake_counter()
        .fail_with(Some(WitError::Unavailable("kv down".into())));
    // Failing open, the whole request (body included) reaches the entry,
    // which hands it to the uploader: no counter needed there.
    let stored = Request::put("/objects/notes.txt")
        .header("x-client-ip", "203.0.113.7")
        .body("hello through the limiter")
        .send(&worker)
        .await?;
    assert_eq!(stored.status, 201, "{}", stored.text());
    let object = context
        .fake_uploader()
        .object("notes.txt")
        .context("the upload arrived")?;
    assert_eq!(object.body, b"hello through the limiter");

    context.set_config("rate-limit-on-error", "closed");
    let refused = Request::put("/objects/other.txt")
        .header("x-client-ip", "203.0.113.7")
        .body("never stored")
        .send(&worker)
        .await?;
    assert_eq!(refused.status, 503);
    let message = refused.json()?["error"]["message"].to_string();
    assert!(message.contains("kv down"), "{message}");
    assert_eq!(context.fake_uploader().keys(), ["notes.txt"]);
    Ok(())
}

#[tokio::test]
async fn a_window_counter_at_its_maximum_refuses_the_client_even_failing_open() -> Result<()> {
    let (worker, context) = limiter_over_entry(10)?;
    // What the counter component answers once the store cannot add more.
    context
        .fake_counter()
        .fail_with(Some(WitError::TooLarge(9_223_372_036_854_775_807)));
    let response = Request::get("/")
        .header("x-client-ip", "203.0.113.7")
        .send(&worker)
        .await?;
    assert_eq!(response.status, 429, "{}", response.text());
    assert_eq!(response.json()?["error"]["code"], "rate_limited");
    // Only the limiter's increment: the request never reached the entry.
    assert_eq!(
        context.fake_counter().calls(),
        [increment(&format!("rl:{}:203.0.113.7", window_now()?))]
    );
    Ok(())
}
