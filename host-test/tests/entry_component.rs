//! The entry component alone, with host-provided counter and uploader.

mod common;

use bytes::Bytes;
use host_test::bindings::{UpstreamError, WitError};
use host_test::bodies::PatternBody;
use host_test::{HostContext, HttpWorker};

fn entry() -> HttpWorker {
    HttpWorker::new(&common::component("entry"), HostContext::new()).expect("links")
}

fn error_code(response: &host_test::Response) -> String {
    let json = response.json().unwrap_or_else(|e| panic!("{e:#}"));
    json["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn the_root_counts_page_views_as_text() -> anyhow::Result<()> {
    let entry = entry();
    for expected in 1..=3 {
        let response = entry.get("/").await?;
        assert_eq!(response.status, 200);
        assert_eq!(response.text(), format!("Page views: {expected}"));
        assert!(
            response
                .header("content-type")
                .unwrap_or_default()
                .starts_with("text/plain")
        );
    }
    let calls = entry.context().fake_counter().calls();
    let expected = host_test::CounterCall {
        name: "page_views".into(),
        delta: Some(1),
    };
    assert_eq!(calls, vec![expected; 3]);
    Ok(())
}

#[tokio::test]
async fn counters_read_and_increment_as_json() -> anyhow::Result<()> {
    let entry = entry();
    let response = entry
        .request("POST", "/counters/likes?by=5", Bytes::new())
        .await?;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.json()?,
        serde_json::json!({"name": "likes", "value": 5})
    );
    let response = entry
        .request("POST", "/counters/likes", Bytes::new())
        .await?;
    assert_eq!(response.json()?["value"], 6);
    let response = entry.get("/counters/likes").await?;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.json()?,
        serde_json::json!({"name": "likes", "value": 6})
    );
    Ok(())
}

#[tokio::test]
async fn uploads_stream_to_the_uploader() -> anyhow::Result<()> {
    let entry = entry();
    let request = http::Request::put("http://localhost/objects/a/b%20c.txt")
        .header("content-type", "text/plain")
        .header("content-length", "11")
        .body(http_body_util::Full::new(Bytes::from_static(
            b"hello world",
        )))?;
    let response = entry.send(request).await?;
    assert_eq!(response.status, 201, "{}", response.text());
    let json = response.json()?;
    assert_eq!(json["key"], "a/b c.txt");
    assert_eq!(json["size"], 11);
    let object = entry
        .context()
        .fake_uploader()
        .object("a/b c.txt")
        .expect("received");
    assert_eq!(object.body, b"hello world");
    assert_eq!(object.content_type.as_deref(), Some("text/plain"));
    assert_eq!(object.content_length, Some(11));
    Ok(())
}

#[tokio::test]
async fn every_error_case_maps_to_its_status() -> anyhow::Result<()> {
    let upstream = UpstreamError {
        status: 403,
        code: "AccessDenied".into(),
        message: "no".into(),
    };
    let cases = [
        (WitError::InvalidInput("bad".into()), 400, "invalid_input"),
        (WitError::Unauthorized("who".into()), 401, "unauthorized"),
        (WitError::TooLarge(10), 413, "too_large"),
        (WitError::Unavailable("down".into()), 503, "unavailable"),
        (WitError::Upstream(upstream), 502, "upstream"),
        (WitError::Internal("bug".into()), 500, "internal"),
    ];
    let entry = entry();
    for (error, status, code) in cases {
        entry
            .context()
            .fake_counter()
            .fail_with(Some(error.clone()));
        let response = entry.get("/counters/x").await?;
        assert_eq!(response.status, status, "{error:?}: {}", response.text());
        assert_eq!(error_code(&response), code);
        assert_eq!(response.header("content-type"), Some("application/json"));
        if status == 502 {
            assert_eq!(response.json()?["error"]["upstream"]["status"], 403);
            assert_eq!(
                response.json()?["error"]["upstream"]["code"],
                "AccessDenied"
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn unknown_routes_and_methods_are_json_errors() -> anyhow::Result<()> {
    let entry = entry();
    let response = entry.get("/nope").await?;
    assert_eq!(
        (response.status.as_u16(), error_code(&response).as_str()),
        (404, "not_found")
    );
    let response = entry.request("DELETE", "/counters/x", Bytes::new()).await?;
    assert_eq!(response.status, 405);
    assert_eq!(error_code(&response), "method_not_allowed");
    let allow = response.header("allow").unwrap_or_default();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    let response = entry
        .request("POST", "/counters/x?by=ten", Bytes::new())
        .await?;
    assert_eq!(response.status, 400);
    assert!(
        response.json()?["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("by")
    );
    assert!(
        entry.context().fake_counter().calls().is_empty(),
        "no bad request reached the counter"
    );
    Ok(())
}

#[tokio::test]
async fn upload_limits_are_checked_before_the_body() -> anyhow::Result<()> {
    let entry = entry();
    entry.context().set_config("max-upload-bytes", "10");
    let response = entry
        .request("PUT", "/objects/big.bin", Bytes::from_static(&[0; 11]))
        .await?;
    assert_eq!(response.status, 413);
    assert_eq!(error_code(&response), "too_large");
    assert_eq!(response.json()?["error"]["limit"], 10);

    // No Content-Length (a chunked body): the uploader gets the limit as
    // max-length and enforces it mid-stream.
    let request =
        http::Request::put("http://localhost/objects/chunked.bin").body(PatternBody::new(11))?;
    let response = entry.send(request).await?;
    assert_eq!(response.status, 413, "{}", response.text());
    assert_eq!(response.json()?["error"]["limit"], 10);
    assert!(entry.context().fake_uploader().keys().is_empty());

    // Within the limit, a chunked body streams through with no length.
    let request =
        http::Request::put("http://localhost/objects/chunked.bin").body(PatternBody::new(7))?;
    let response = entry.send(request).await?;
    assert_eq!(response.status, 201, "{}", response.text());
    let object = entry
        .context()
        .fake_uploader()
        .object("chunked.bin")
        .expect("received");
    assert_eq!((object.body.len(), object.content_length), (7, None));

    entry.context().set_config("max-upload-bytes", "lots");
    let response = entry
        .request("PUT", "/objects/x.bin", Bytes::from_static(b"x"))
        .await?;
    assert_eq!(response.status, 500);
    assert!(response.text().contains("max-upload-bytes"));
    Ok(())
}
