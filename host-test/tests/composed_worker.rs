//! The composed portable worker over HTTP: every route and every bad input.

mod common;

use bytes::Bytes;
use common::{S3Fixture, SECRET};
use host_test::bodies::{PatternBody, pattern_sha256, sha256_hex};
use host_test::kv::{KvError, KvOp};
use host_test::{HttpWorker, Response};

fn worker() -> (HttpWorker, S3Fixture) {
    let (context, s3) = common::context_with_s3();
    let worker = HttpWorker::new(&common::component("worker"), context).expect("links");
    (worker, s3)
}

fn assert_json_error(response: &Response, status: u16, code: &str) {
    assert_eq!(
        response.status.as_u16(),
        status,
        "body: {}",
        response.text()
    );
    assert_eq!(response.header("content-type"), Some("application/json"));
    let json = response.json().unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(json["error"]["code"], code, "{json}");
    assert!(
        json["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "a message explains the error: {json}"
    );
}

#[tokio::test]
async fn page_views_count_one_two_three() -> anyhow::Result<()> {
    let (worker, _s3) = worker();
    for n in 1..=3 {
        let response = worker.get("/").await?;
        assert_eq!(response.status, 200);
        assert_eq!(response.text(), format!("Page views: {n}"));
    }
    let kv = worker.context().fake_kv().expect("a fake KV");
    assert_eq!(kv.count(KvOp::Increment), 3);
    Ok(())
}

#[tokio::test]
async fn counters_route_through_the_counter_component() -> anyhow::Result<()> {
    let (worker, _s3) = worker();
    let response = worker
        .request("POST", "/counters/signups?by=7", Bytes::new())
        .await?;
    assert_eq!(
        response.json()?,
        serde_json::json!({"name": "signups", "value": 7})
    );
    let response = worker.get("/counters/signups").await?;
    assert_eq!(
        response.json()?,
        serde_json::json!({"name": "signups", "value": 7})
    );
    let response = worker.get("/counters/unknown").await?;
    assert_eq!(response.json()?["value"], 0);
    Ok(())
}

#[tokio::test]
async fn an_upload_lands_byte_identical_in_the_store() -> anyhow::Result<()> {
    let (worker, s3) = worker();
    let body = Bytes::from_static(b"The quick brown fox jumps over the lazy dog.\n");
    let response = worker
        .request("PUT", "/objects/a/b.txt", body.clone())
        .await?;
    assert_eq!(response.status, 201, "{}", response.text());
    let json = response.json()?;
    assert_eq!(json["key"], "a/b.txt");
    assert_eq!(json["size"], body.len());
    assert!(json["etag"].as_str().is_some_and(|e| !e.is_empty()));
    assert_eq!(s3.object("a/b.txt").as_deref(), Some(&body[..]));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifty_mebibyte_upload_streams_through_the_worker() -> anyhow::Result<()> {
    let (worker, s3) = worker();
    let len = 50 * 1024 * 1024;
    let request = http::Request::put("http://localhost/objects/big/fifty.bin")
        .header("content-length", len)
        .body(PatternBody::new(len))?;
    let response = worker.send(request).await?;
    assert_eq!(response.status, 201, "{}", response.text());
    let stored = s3.object("big/fifty.bin").expect("stored");
    assert_eq!(sha256_hex(&stored), pattern_sha256(len));
    Ok(())
}

#[tokio::test]
async fn bad_input_gets_a_clear_json_error_and_never_a_trap() -> anyhow::Result<()> {
    let (worker, s3) = worker();
    let long_key = format!("/objects/{}", "k".repeat(1025));
    let long_name = format!("/counters/{}", "n".repeat(129));
    let cases: &[(&str, &str, u16, &str)] = &[
        ("GET", "/no/such/route", 404, "not_found"),
        ("GET", "/objects", 404, "not_found"),
        ("DELETE", "/", 405, "method_not_allowed"),
        ("PATCH", "/counters/x", 405, "method_not_allowed"),
        ("GET", "/objects/a.txt", 405, "method_not_allowed"),
        ("POST", "/counters/x?by=abc", 400, "invalid_input"),
        ("POST", "/counters/x?by=-1", 400, "invalid_input"),
        (
            "POST",
            "/counters/x?by=99999999999999999999999",
            400,
            "invalid_input",
        ),
        ("POST", "/counters/x?by=", 400, "invalid_input"),
        ("GET", "/counters/bad%20name", 400, "invalid_input"),
        ("GET", long_name.as_str(), 400, "invalid_input"),
        ("PUT", "/objects/", 400, "invalid_input"),
        ("PUT", long_key.as_str(), 400, "invalid_input"),
        ("PUT", "/objects/a/../b.txt", 400, "invalid_input"),
        ("PUT", "/objects/a/%2E%2E/b.txt", 400, "invalid_input"),
        ("PUT", "/objects/..", 400, "invalid_input"),
        ("PUT", "/objects/ctl%01char", 400, "invalid_input"),
        ("PUT", "/objects/nl%0Achar", 400, "invalid_input"),
        ("PUT", "/objects/bad%ZZescape", 400, "invalid_input"),
        ("PUT", "/objects/not-utf8-%FF", 400, "invalid_input"),
    ];
    for (method, path, status, code) in cases {
        let response = worker
            .request(method, path, Bytes::from_static(b"x"))
            .await
            .map_err(|e| anyhow::anyhow!("{method} {path}: {e:#}"))?;
        assert_json_error(&response, *status, code);
    }
    assert_eq!(
        std::fs::read_dir(s3.s3.object_path(common::BUCKET, ""))?.count(),
        0,
        "nothing stored"
    );
    Ok(())
}

#[tokio::test]
async fn missing_uploader_config_is_a_500_naming_the_key() -> anyhow::Result<()> {
    let (worker, _s3) = worker();
    worker.context().remove_config("s3-bucket");
    let response = worker
        .request("PUT", "/objects/x.txt", Bytes::from_static(b"x"))
        .await?;
    assert_json_error(&response, 500, "internal");
    assert!(response.text().contains("s3-bucket"));
    // The rest of the worker still works.
    assert_eq!(worker.get("/").await?.status, 200);
    Ok(())
}

#[tokio::test]
async fn a_failing_kv_store_is_a_503() -> anyhow::Result<()> {
    let (worker, _s3) = worker();
    let kv = worker.context().fake_kv().expect("a fake KV").clone();
    kv.fail_next(
        KvOp::Increment,
        KvError::Other("connection reset".into()),
        1,
    );
    assert_json_error(&worker.get("/").await?, 503, "unavailable");
    assert_eq!(worker.get("/").await?.text(), "Page views: 1");
    Ok(())
}

#[tokio::test]
async fn a_wrong_secret_is_a_502_that_never_shows_a_secret() -> anyhow::Result<()> {
    let (worker, s3) = worker();
    let wrong = "definitely-wrong-secret";
    worker.context().set_config("s3-secret-access-key", wrong);
    let response = worker
        .request("PUT", "/objects/x.txt", Bytes::from_static(b"x"))
        .await?;
    assert_json_error(&response, 502, "upstream");
    assert_eq!(response.json()?["error"]["upstream"]["status"], 403);
    let text = response.text();
    assert!(!text.contains(wrong) && !text.contains(SECRET), "{text}");
    assert_eq!(s3.object("x.txt"), None);
    Ok(())
}

#[tokio::test]
async fn over_the_limit_is_a_413_before_any_byte_goes_upstream() -> anyhow::Result<()> {
    let (worker, _s3) = worker();
    worker.context().set_config("max-upload-bytes", "1024");
    let response = worker
        .request("PUT", "/objects/big.bin", Bytes::from(vec![7u8; 1025]))
        .await?;
    assert_json_error(&response, 413, "too_large");
    assert!(worker.context().outbound().requests().is_empty());
    Ok(())
}
