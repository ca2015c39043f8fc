//! What every test starts from: the built component, a fresh host context
//! with the fake KV, and a fake weather API at `weather.test`.

// Each test file compiles its own copy and uses only part of it.
#![allow(dead_code)]

use anyhow::{Context as _, Result};
use host_test::artifacts::component_path;
use host_test::{CannedResponse, FakeKv, HostContext, HttpWorker, load_component};

/// The fake weather API's host.
pub const UPSTREAM: &str = "weather.test";

/// The worker, its context, and the context's fake KV. `upstream-url` is
/// set; nothing else is.
pub fn setup() -> Result<(HttpWorker, HostContext, FakeKv)> {
    let context = HostContext::new().with_inherited_stdio(false);
    context.set_config("upstream-url", format!("http://{UPSTREAM}/v1"));
    let kv = context.fake_kv().context("the default fake KV")?.clone();
    let component = load_component(component_path("weather-cache")?)?;
    Ok((HttpWorker::new(&component, context.clone())?, context, kv))
}

/// A forecast the fake API answers with, naming the city it was asked for
/// so that a test can tell which request produced a body.
pub fn forecast(city: &str, temp: i32) -> String {
    format!(r#"{{"city":"{city}","temp_c":{temp}}}"#)
}

/// Routes the fake API: each request gets a forecast for its `city` query
/// value, with temperature `temp`.
pub fn serve_forecasts(context: &HostContext, temp: i32) {
    context.outbound().route_fn(UPSTREAM, move |request| {
        let city = request
            .query()
            .and_then(|query| query.strip_prefix("city="))
            .unwrap_or("?")
            .to_owned();
        CannedResponse::new(200)
            .header("content-type", "application/json")
            .body(forecast(&city, temp))
    });
}

/// Seconds since the Unix epoch, as the guest's wall clock sees them.
pub fn now_secs() -> Result<u64> {
    Ok(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs())
}

/// A cache entry as the component stores it (its documented format:
/// three header lines, then the body), fetched at `fetched_at`.
pub fn stored_entry(fetched_at: u64, body: &str) -> String {
    format!("weather-cache/1\n{fetched_at}\napplication/json\n{body}")
}
