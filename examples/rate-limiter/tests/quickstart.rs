//! Testing a component with host-test: the README's example, whole (a test
//! in `readme.rs` checks that the README still shows this very file).

use anyhow::{Context as _, Result};
use host_test::artifacts::component_path;
use host_test::{CannedResponse, HostContext, HttpWorker, KvOp, Request, load_component};

/// Any component that exports `wasi:http/incoming-handler` will do: here,
/// the rate limiter composed in front of edgeplug's worker.
fn worker(context: &HostContext) -> Result<HttpWorker> {
    let component = load_component(component_path("limited-worker")?)?;
    HttpWorker::new(&component, context.clone())
}

#[tokio::test]
async fn page_views_count_until_the_client_is_limited() -> Result<()> {
    let context = HostContext::new(); // a fresh fake wasi:keyvalue, no config
    context.set_config("rate-limit-requests", "2");
    context.set_config("rate-limit-window-seconds", "604800");
    let kv = context.fake_kv().context("the default fake KV")?;
    kv.seed("default", "page_views", "41").await?;
    let worker = worker(&context)?;

    for expected in ["Page views: 42", "Page views: 43"] {
        let response = Request::get("/")
            .header("x-client-ip", "203.0.113.7")
            .send(&worker)
            .await?;
        assert_eq!(response.text(), expected);
    }
    let limited = Request::get("/")
        .header("x-client-ip", "203.0.113.7")
        .send(&worker)
        .await?;
    assert_eq!(limited.status, 429);
    assert!(limited.header("retry-after").is_some());

    // Three increments of the client's window counter, two page views.
    assert_eq!(kv.count(KvOp::Increment), 5);
    assert_eq!(
        kv.value("default", "page_views").await?,
        Some(b"43".to_vec())
    );
    Ok(())
}

#[tokio::test]
async fn uploads_go_to_a_fake_s3_that_records_them() -> Result<()> {
    let context = HostContext::new();
    for (key, value) in [
        ("s3-endpoint", "http://s3.test"),
        ("s3-bucket", "uploads"),
        ("s3-access-key-id", "AKIDEXAMPLE"),
        ("s3-secret-access-key", "not-a-real-secret"),
        // Uploads are closed unless a token or this opt-in is configured.
        ("allow-anonymous-uploads", "true"),
    ] {
        context.set_config(key, value);
    }
    // Outgoing HTTP is routed by host: a closure answers for s3.test.
    context
        .outbound()
        .route_fn("s3.test", |request| match request.method.as_str() {
            "PUT" => CannedResponse::new(200).header("etag", "\"5d41402abc4b2a76\""),
            _ => CannedResponse::new(405),
        });
    let worker = worker(&context)?;

    let response = Request::put("/objects/notes.txt")
        .header("x-client-ip", "203.0.113.7")
        .body("hello")
        .send(&worker)
        .await?;
    assert_eq!(response.status, 201, "{}", response.text());
    assert_eq!(response.json()?["etag"], "5d41402abc4b2a76");

    // Every request the guest sent is recorded, body included.
    let sent = context.outbound().requests_to("s3.test");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].path_and_query(), "/uploads/notes.txt");
    assert_eq!(sent[0].body_text(), "hello");
    let signature = sent[0].header("authorization").unwrap_or_default();
    assert!(signature.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"));

    // A canned error from the store comes back as edgeplug's 502.
    context.outbound().respond(
        "s3.test",
        404,
        "<Error><Code>NoSuchBucket</Code><Message>no bucket</Message></Error>",
    );
    let failed = Request::put("/objects/notes.txt")
        .header("x-client-ip", "203.0.113.7")
        .body("hello")
        .send(&worker)
        .await?;
    assert_eq!(failed.status, 502);
    assert_eq!(failed.json()?["error"]["upstream"]["code"], "NoSuchBucket");
    Ok(())
}
