//! The cache at work: a miss fetches and stores, a hit answers alone, and a
//! stale entry is fetched again. Everything is checked through host-test's
//! public API: the fake KV's call log and the fake HTTP's recorded requests.

mod common;

use anyhow::Result;
use common::{UPSTREAM, forecast, now_secs, serve_forecasts, setup, stored_entry};
use host_test::{KvCall, KvOp, Request};

fn call(op: KvOp, key: &str) -> KvCall {
    KvCall {
        op,
        bucket: "weather".to_owned(),
        key: Some(key.to_owned()),
    }
}

/// The calls that touch a key: `open` is how the guest gets its bucket,
/// not a cache operation.
fn key_calls(calls: Vec<KvCall>) -> Vec<KvCall> {
    calls.into_iter().filter(|c| c.op != KvOp::Open).collect()
}

#[tokio::test]
async fn a_miss_fetches_and_stores_then_a_hit_answers_from_the_cache() -> Result<()> {
    let (worker, context, kv) = setup()?;
    serve_forecasts(&context, 21);

    let first = Request::get("/weather/New%20York").send(&worker).await?;
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.header("x-cache"), Some("miss"));
    assert_eq!(first.header("content-type"), Some("application/json"));
    assert_eq!(first.text(), forecast("new%20york", 21));

    let sent = context.outbound().requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method, "GET");
    assert_eq!(sent[0].authority(), Some(UPSTREAM));
    assert_eq!(sent[0].path_and_query(), "/v1/forecast?city=new%20york");
    assert_eq!(
        key_calls(kv.calls()),
        [
            call(KvOp::Get, "city:new york"),
            call(KvOp::Set, "city:new york")
        ]
    );
    let stored = kv
        .value("weather", "city:new york")
        .await?
        .unwrap_or_default();
    assert!(
        String::from_utf8_lossy(&stored).starts_with("weather-cache/1\n"),
        "{stored:?}"
    );

    // Another spelling of the same city: the same entry, no upstream call.
    kv.clear_calls();
    let second = Request::get("/weather/NEW%20york").send(&worker).await?;
    assert_eq!(second.status, 200, "{}", second.text());
    assert_eq!(second.header("x-cache"), Some("hit"));
    assert_eq!(second.text(), first.text());
    assert!(second.header("age").is_some());
    assert_eq!(context.outbound().requests().len(), 1);
    assert_eq!(key_calls(kv.calls()), [call(KvOp::Get, "city:new york")]);
    assert_eq!(kv.count(KvOp::Set), 0);
    Ok(())
}

#[tokio::test]
async fn a_seeded_fresh_entry_is_served_without_fetching() -> Result<()> {
    let (worker, context, kv) = setup()?;
    serve_forecasts(&context, 21);
    let cached = forecast("paris", 9);
    kv.seed(
        "weather",
        "city:paris",
        stored_entry(now_secs()? - 10, &cached),
    )
    .await?;

    let response = Request::get("/weather/Paris").send(&worker).await?;
    assert_eq!(response.header("x-cache"), Some("hit"));
    assert_eq!(response.text(), cached);
    assert!(context.outbound().requests().is_empty());
    Ok(())
}

#[tokio::test]
async fn an_entry_older_than_the_ttl_is_fetched_again_and_replaced() -> Result<()> {
    let (worker, context, kv) = setup()?;
    serve_forecasts(&context, 21);
    // 301 s old: the default TTL is 300 s.
    kv.seed(
        "weather",
        "city:paris",
        stored_entry(now_secs()? - 301, &forecast("paris", 9)),
    )
    .await?;

    let response = Request::get("/weather/Paris").send(&worker).await?;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("x-cache"), Some("miss"));
    assert_eq!(response.text(), forecast("paris", 21));
    let sent = context.outbound().requests_to(UPSTREAM);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].path_and_query(), "/v1/forecast?city=paris");
    assert_eq!(kv.count(KvOp::Set), 1);
    let stored = kv.value("weather", "city:paris").await?.unwrap_or_default();
    assert!(
        String::from_utf8_lossy(&stored).ends_with(&forecast("paris", 21)),
        "{stored:?}"
    );
    Ok(())
}

#[tokio::test]
async fn the_bucket_and_ttl_come_from_config() -> Result<()> {
    let (worker, context, kv) = setup()?;
    serve_forecasts(&context, 21);
    context.set_config("cache-bucket", "forecasts");
    context.set_config("cache-ttl-seconds", "60");
    // Fresh under the default TTL, stale under 60 s.
    let now = now_secs()?;
    kv.seed(
        "forecasts",
        "city:oslo",
        stored_entry(now - 90, &forecast("oslo", -3)),
    )
    .await?;
    kv.seed(
        "weather",
        "city:oslo",
        stored_entry(now, &forecast("oslo", -3)),
    )
    .await?;

    let response = Request::get("/weather/Oslo").send(&worker).await?;
    assert_eq!(response.header("x-cache"), Some("miss"));
    assert_eq!(response.text(), forecast("oslo", 21));
    assert_eq!(context.outbound().requests().len(), 1);
    assert!(
        kv.calls().iter().all(|c| c.bucket == "forecasts"),
        "{:?}",
        kv.calls()
    );
    Ok(())
}
