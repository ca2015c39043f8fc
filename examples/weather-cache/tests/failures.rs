//! When the weather API or the store fails: a broken upstream is a 502 and
//! nothing is cached; a broken store costs the cache, not the answer.

mod common;

use anyhow::Result;
use common::{UPSTREAM, forecast, now_secs, serve_forecasts, setup, stored_entry};
use host_test::{KvError, KvOp, Request};

#[tokio::test]
async fn an_upstream_error_is_a_502_and_nothing_is_cached() -> Result<()> {
    let (worker, context, kv) = setup()?;
    context.outbound().respond(UPSTREAM, 500, "internal error");

    let response = Request::get("/weather/Paris").send(&worker).await?;
    assert_eq!(response.status, 502, "{}", response.text());
    let error = response.json()?;
    assert_eq!(error["error"]["code"], "bad_gateway");
    assert_eq!(error["error"]["message"], "the weather API answered 500");
    assert_eq!(context.outbound().requests().len(), 1);
    assert_eq!(kv.count(KvOp::Get), 1);
    assert_eq!(kv.count(KvOp::Set), 0);
    assert_eq!(kv.value("weather", "city:paris").await?, None);
    Ok(())
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_502_and_nothing_is_cached() -> Result<()> {
    let (worker, context, kv) = setup()?;
    context.outbound().refuse(UPSTREAM);

    let response = Request::get("/weather/Paris").send(&worker).await?;
    assert_eq!(response.status, 502, "{}", response.text());
    let message = response.json()?["error"]["message"].to_string();
    assert!(message.contains("unreachable"), "{message}");
    assert_eq!(kv.count(KvOp::Set), 0);
    Ok(())
}

#[tokio::test]
async fn a_store_that_fails_everything_still_gets_answers() -> Result<()> {
    let (worker, context, kv) = setup()?;
    serve_forecasts(&context, 21);
    kv.fail_always(None, KvError::Other("kv is down".into()));

    for _ in 0..2 {
        let response = Request::get("/weather/Paris").send(&worker).await?;
        assert_eq!(response.status, 200, "{}", response.text());
        assert_eq!(response.header("x-cache"), Some("miss"));
        assert_eq!(response.text(), forecast("paris", 21));
    }
    // Nothing could be cached, so each request went upstream; the guest
    // gave up on the store after its failed open.
    assert_eq!(context.outbound().requests().len(), 2);
    assert_eq!(kv.count(KvOp::Open), 2);
    assert_eq!(kv.calls().len(), 2);
    kv.clear_faults();
    assert_eq!(kv.value("weather", "city:paris").await?, None);
    Ok(())
}

#[tokio::test]
async fn a_failed_read_fetches_anyway_and_still_stores() -> Result<()> {
    let (worker, context, kv) = setup()?;
    serve_forecasts(&context, 21);
    kv.seed(
        "weather",
        "city:paris",
        stored_entry(now_secs()?, &forecast("paris", 9)),
    )
    .await?;
    kv.fail_next(KvOp::Get, KvError::Other("timeout".into()), 1);

    let response = Request::get("/weather/Paris").send(&worker).await?;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("x-cache"), Some("miss"));
    assert_eq!(response.text(), forecast("paris", 21));
    assert_eq!(context.outbound().requests().len(), 1);
    assert_eq!(kv.count(KvOp::Set), 1);
    Ok(())
}

#[tokio::test]
async fn a_failed_write_still_answers_and_the_next_request_fetches_again() -> Result<()> {
    let (worker, context, kv) = setup()?;
    serve_forecasts(&context, 21);
    kv.fail_next(KvOp::Set, KvError::Other("quota exceeded".into()), 1);

    let first = Request::get("/weather/Paris").send(&worker).await?;
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.text(), forecast("paris", 21));
    assert_eq!(kv.value("weather", "city:paris").await?, None);

    let second = Request::get("/weather/Paris").send(&worker).await?;
    assert_eq!(second.header("x-cache"), Some("miss"));
    assert_eq!(context.outbound().requests().len(), 2);
    assert_eq!(kv.count(KvOp::Set), 2);
    assert!(kv.value("weather", "city:paris").await?.is_some());
    Ok(())
}
