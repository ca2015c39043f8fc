//! Requests the component refuses before touching the store or the
//! network: bad cities, other routes and methods, missing config.

mod common;

use anyhow::Result;
use common::{serve_forecasts, setup};
use host_test::{HostContext, HttpWorker, Request};

/// The status, and the JSON error's code and message.
async fn refusal(worker: &HttpWorker, request: Request) -> Result<(u16, String, String)> {
    let response = request.send(worker).await?;
    let body = response.json()?;
    let text = |field: &str| body["error"][field].as_str().unwrap_or_default().to_owned();
    Ok((response.status.as_u16(), text("code"), text("message")))
}

fn assert_untouched(context: &HostContext) {
    assert!(context.outbound().requests().is_empty());
    let calls = context.fake_kv().map(|kv| kv.calls()).unwrap_or_default();
    assert!(calls.is_empty(), "{calls:?}");
}

#[tokio::test]
async fn a_bad_city_is_a_400_without_store_or_upstream_calls() -> Result<()> {
    let (worker, context, _kv) = setup()?;
    serve_forecasts(&context, 21);
    let too_long = format!("/weather/{}", "a".repeat(65));
    for path in [
        "/weather/R2D2",
        "/weather/New+York",
        "/weather/%20Paris",
        "/weather/",
        too_long.as_str(),
    ] {
        let (status, code, message) = refusal(&worker, Request::get(path)).await?;
        assert_eq!((status, code.as_str()), (400, "invalid_input"), "{path}");
        assert!(message.starts_with("invalid city: "), "{message}");
    }
    assert_untouched(&context);
    Ok(())
}

#[tokio::test]
async fn other_routes_are_404_and_other_methods_405() -> Result<()> {
    let (worker, context, _kv) = setup()?;
    serve_forecasts(&context, 21);
    for path in [
        "/",
        "/weather",
        "/weather/Paris/today",
        "/forecast?city=paris",
    ] {
        let (status, code, _) = refusal(&worker, Request::get(path)).await?;
        assert_eq!((status, code.as_str()), (404, "not_found"), "{path}");
    }
    for method in ["POST", "PUT", "DELETE", "HEAD"] {
        let response = Request::new(method, "/weather/Paris").send(&worker).await?;
        assert_eq!(response.status, 405, "{method}");
        assert_eq!(response.header("allow"), Some("GET"));
    }
    assert_untouched(&context);
    Ok(())
}

#[tokio::test]
async fn a_missing_upstream_url_is_a_500_naming_the_key() -> Result<()> {
    let (worker, context, _kv) = setup()?;
    serve_forecasts(&context, 21);
    context.remove_config("upstream-url");

    let (status, code, message) = refusal(&worker, Request::get("/weather/Paris")).await?;
    assert_eq!((status, code.as_str()), (500, "internal"));
    assert_eq!(message, "config key `upstream-url` is not set");
    assert_untouched(&context);
    Ok(())
}

#[tokio::test]
async fn a_bad_ttl_is_a_500_naming_the_key() -> Result<()> {
    let (worker, context, _kv) = setup()?;
    context.set_config("cache-ttl-seconds", "5m");

    let (status, _, message) = refusal(&worker, Request::get("/weather/Paris")).await?;
    assert_eq!(status, 500);
    assert!(message.contains("`cache-ttl-seconds`"), "{message}");
    assert_untouched(&context);
    Ok(())
}
