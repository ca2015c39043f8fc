//! The entry component alone, with host-provided counter and uploader.

mod common;

use bytes::Bytes;
use host_test::bindings::{UpstreamError, WitError};
use host_test::bodies::PatternBody;
use host_test::{HostContext, HttpWorker};

/// The entry with every write opened to anyone, as most tests here want.
fn entry() -> HttpWorker {
    let entry = closed_entry();
    entry
        .context()
        .set_config("allow-anonymous-uploads", "true");
    entry
        .context()
        .set_config("allow-anonymous-counter-writes", "true");
    entry
}

/// The entry as deployed with no write setting at all.
fn closed_entry() -> HttpWorker {
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
        message: "User arn:aws:iam::123456789012:user/x is not authorized".into(),
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
            assert!(!response.text().contains("arn:aws"), "{}", response.text());
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

const TOKEN: &str = "entry-component-test-token-7Qp";

/// Every write route, each as a request that succeeds when allowed.
fn writes() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        ("PUT", "/objects/w.txt", "allow-anonymous-uploads"),
        (
            "POST",
            "/objects/w.txt/presign?content_type=text%2Fplain&content_length=5",
            "allow-anonymous-uploads",
        ),
        (
            "POST",
            "/objects/w.txt/presign-post?content_type=text%2Fplain&max_length=5",
            "allow-anonymous-uploads",
        ),
        (
            "POST",
            "/counters/likes?by=2",
            "allow-anonymous-counter-writes",
        ),
    ]
}

async fn send_write(
    entry: &HttpWorker,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> anyhow::Result<host_test::Response> {
    let mut request = host_test::Request::new(method, path);
    if method == "PUT" {
        request = request.body("hello");
    }
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request.send(entry).await
}

#[tokio::test]
async fn writes_are_refused_by_default_naming_the_missing_setting() -> anyhow::Result<()> {
    let entry = closed_entry();
    for (method, path, opt_in) in writes() {
        let response = send_write(&entry, method, path, None).await?;
        assert_eq!(response.status, 403, "{method} {path}: {}", response.text());
        let json = response.json()?;
        assert_eq!(json["error"]["code"], "writes_not_configured");
        assert_eq!(json["error"]["setting"], opt_in);
        let message = json["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("`upload-token`"), "{message}");
        assert!(message.contains(&format!("`{opt_in} = true`")), "{message}");
    }
    assert!(entry.context().fake_uploader().keys().is_empty());
    assert!(entry.context().fake_counter().calls().is_empty());
    // Reads and page views stay open.
    assert_eq!(entry.get("/").await?.text(), "Page views: 1");
    assert_eq!(entry.get("/counters/page_views").await?.status, 200);
    Ok(())
}

#[tokio::test]
async fn the_token_opens_every_write_and_a_wrong_one_is_401() -> anyhow::Result<()> {
    let entry = closed_entry();
    entry.context().set_config("upload-token", TOKEN);
    for (method, path, _) in writes() {
        for wrong in [None, Some("not-the-token")] {
            let response = send_write(&entry, method, path, wrong).await?;
            assert_eq!(response.status, 401, "{method} {path}");
            assert_eq!(response.header("www-authenticate"), Some("Bearer"));
            assert!(!response.text().contains(TOKEN));
        }
        let response = send_write(&entry, method, path, Some(TOKEN)).await?;
        assert_eq!(
            response.status.as_u16() / 100,
            2,
            "{method} {path}: {}",
            response.text()
        );
        assert!(!response.text().contains(TOKEN));
    }
    assert_eq!(entry.context().fake_uploader().keys(), ["w.txt"]);
    assert_eq!(entry.context().fake_counter().value("likes"), 2);
    Ok(())
}

#[tokio::test]
async fn each_opt_in_opens_its_own_writes_only() -> anyhow::Result<()> {
    for opt_in in ["allow-anonymous-uploads", "allow-anonymous-counter-writes"] {
        let entry = closed_entry();
        entry.context().set_config(opt_in, "true");
        for (method, path, opens) in writes() {
            let response = send_write(&entry, method, path, None).await?;
            let expected = if opens == opt_in { 2 } else { 4 };
            assert_eq!(
                response.status.as_u16() / 100,
                expected,
                "{opt_in}: {method} {path}: {}",
                response.text()
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn a_misspelled_opt_in_is_a_500_naming_it_never_an_open_door() -> anyhow::Result<()> {
    let entry = closed_entry();
    entry.context().set_config("allow-anonymous-uploads", "yes");
    let response = send_write(&entry, "PUT", "/objects/w.txt", None).await?;
    assert_eq!(response.status, 500);
    assert!(response.text().contains("`allow-anonymous-uploads`"));
    assert!(entry.context().fake_uploader().keys().is_empty());
    Ok(())
}

#[tokio::test]
async fn increments_are_capped_by_max_increment() -> anyhow::Result<()> {
    let entry = entry();
    for by in ["0", "101", "18446744073709551615", "9223372036854775807"] {
        let response = entry
            .request(
                "POST",
                &format!("/counters/page_views?by={by}"),
                Bytes::new(),
            )
            .await?;
        assert_eq!(response.status, 400, "by={by}");
        assert!(
            response.text().contains("max-increment"),
            "{}",
            response.text()
        );
    }
    assert!(entry.context().fake_counter().calls().is_empty());
    let response = entry
        .request("POST", "/counters/page_views?by=100", Bytes::new())
        .await?;
    assert_eq!(response.json()?["value"], 100);
    entry.context().set_config("max-increment", "1000");
    let response = entry
        .request("POST", "/counters/page_views?by=1000", Bytes::new())
        .await?;
    assert_eq!(response.json()?["value"], 1100);
    Ok(())
}

#[tokio::test]
async fn a_counter_at_its_maximum_is_409_and_the_root_still_answers() -> anyhow::Result<()> {
    let entry = entry();
    let max = 9_223_372_036_854_775_807_u64;
    // What the counter component answers once the store cannot add more.
    entry
        .context()
        .fake_counter()
        .fail_with(Some(WitError::TooLarge(max)));
    let response = entry
        .request("POST", "/counters/page_views?by=1", Bytes::new())
        .await?;
    assert_eq!(response.status, 409);
    let json = response.json()?;
    assert_eq!(json["error"]["code"], "counter_at_maximum");
    assert_eq!(json["error"]["value"], max);
    for _ in 0..2 {
        let root = entry.get("/").await?;
        assert_eq!(root.status, 200);
        assert_eq!(root.text(), format!("Page views: {max}"));
    }
    Ok(())
}

#[tokio::test]
async fn namespaced_counters_are_unreachable_from_the_public_route() -> anyhow::Result<()> {
    let entry = entry();
    for path in [
        "/counters/rl:2937:203.0.113.7",
        "/counters/rl%3A2937%3A203.0.113.7",
    ] {
        let read = entry.get(path).await?;
        assert_eq!(read.status, 400, "{path}");
        let write = entry
            .request("POST", &format!("{path}?by=100"), Bytes::new())
            .await?;
        assert_eq!(write.status, 400, "{path}");
        assert!(write.text().contains("`:`"), "{}", write.text());
    }
    assert!(entry.context().fake_counter().calls().is_empty());
    Ok(())
}

#[tokio::test]
async fn presign_needs_type_and_length_and_stays_under_the_limit() -> anyhow::Result<()> {
    let entry = entry();
    entry.context().set_config("max-upload-bytes", "100");
    for (path, named) in [
        ("/objects/a/presign", "`content_type`"),
        ("/objects/a/presign?content_type=a%2Fb", "`content_length`"),
        ("/objects/a/presign?content_length=5", "`content_type`"),
    ] {
        let response = entry.request("POST", path, Bytes::new()).await?;
        assert_eq!(response.status, 400, "{path}");
        assert!(
            response.text().contains(named),
            "{path}: {}",
            response.text()
        );
    }
    let response = entry
        .request(
            "POST",
            "/objects/a/presign?content_type=a%2Fb&content_length=101",
            Bytes::new(),
        )
        .await?;
    assert_eq!(response.status, 413);
    assert_eq!(response.json()?["error"]["limit"], 100);

    // `+` is a space, as browsers encode forms.
    let response = entry
        .request(
            "POST",
            "/objects/a/presign?content_type=text%2Fplain%3B+charset%3Dutf-8&content_length=100",
            Bytes::new(),
        )
        .await?;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(
        response.json()?["headers"]["content-type"],
        "text/plain; charset=utf-8"
    );
    Ok(())
}

#[tokio::test]
async fn presign_post_answers_a_form_policy_capped_by_the_limit() -> anyhow::Result<()> {
    let entry = entry();
    entry.context().set_config("max-upload-bytes", "1000");
    let response = entry
        .request(
            "POST",
            "/objects/a/presign-post?content_type=image%2Fpng&max_length=1001",
            Bytes::new(),
        )
        .await?;
    assert_eq!(response.status, 413);
    let response = entry
        .request(
            "POST",
            "/objects/users/42/presign-post?prefix=true&content_type=image%2Fpng&max_length=1000",
            Bytes::new(),
        )
        .await?;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let json = response.json()?;
    assert_eq!(json["method"], "POST");
    assert!(json["url"].is_string(), "{json}");
    assert!(json["fields"].is_object(), "{json}");
    assert!(json["expires_at"].is_string(), "{json}");
    Ok(())
}

#[tokio::test]
async fn a_taken_key_is_409_object_exists_without_the_store_message() -> anyhow::Result<()> {
    let entry = entry();
    entry
        .context()
        .fake_uploader()
        .fail_with(Some(WitError::Upstream(UpstreamError {
            status: 412,
            code: "PreconditionFailed".into(),
            message: "At least one of the pre-conditions you specified did not hold".into(),
        })));
    let response = entry
        .request("PUT", "/objects/taken.txt", Bytes::from_static(b"x"))
        .await?;
    assert_eq!(response.status, 409);
    assert_eq!(error_code(&response), "object_exists");
    assert!(!response.text().contains("pre-conditions"));
    Ok(())
}

#[tokio::test]
async fn keys_with_disguising_characters_are_refused() -> anyhow::Result<()> {
    let entry = entry();
    for key in [
        "invoice%E2%80%AEfdp.exe",
        "a%E2%80%8Bb",
        "a%E2%80%A8b",
        "%EF%BB%BFa",
    ] {
        let response = entry
            .request("PUT", &format!("/objects/{key}"), Bytes::from_static(b"x"))
            .await?;
        assert_eq!(response.status, 400, "{key}");
        assert!(response.text().contains("U+"), "{}", response.text());
    }
    assert!(entry.context().fake_uploader().keys().is_empty());
    Ok(())
}

/// Seconds since the Unix epoch, now.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Asserts that `expires_at` (unix seconds, from the fake uploader's clock)
/// is `expires` seconds after a moment inside `[before, after]`: exact, with
/// no allowance for how long the call took.
fn assert_expires(json: &serde_json::Value, expires: u64, before: u64, after: u64) {
    let at = json["expires_at_unix"].as_u64().unwrap_or_default();
    assert!(
        (before + expires..=after + expires).contains(&at),
        "expires_at_unix {at} is not {expires}s after [{before}, {after}]: {json}"
    );
}

#[tokio::test]
async fn the_presign_route_hands_key_expiry_type_and_length_to_the_uploader() -> anyhow::Result<()>
{
    let entry = entry();
    entry.context().set_config("max-upload-bytes", "1000");
    // The fake uploader's URL and headers echo what it was called with.
    for (query, expires) in [("&expires=600", 600), ("", 900)] {
        let before = unix_now();
        let response = entry
            .request(
                "POST",
                &format!(
                    "/objects/a/b%20c.jpg/presign?content_type=image%2Fjpeg&content_length=482{query}"
                ),
                Bytes::new(),
            )
            .await?;
        let after = unix_now();
        assert_eq!(response.status, 200, "{}", response.text());
        let json = response.json()?;
        assert_eq!(
            json["url"],
            format!("https://fake-uploader.invalid/a/b c.jpg?expires={expires}"),
            "{json}"
        );
        assert_eq!(json["method"], "PUT", "{json}");
        assert_eq!(
            json["headers"],
            serde_json::json!({"content-type": "image/jpeg", "content-length": "482"})
        );
        assert_expires(&json, expires, before, after);
    }
    assert!(
        entry.context().fake_uploader().keys().is_empty(),
        "presigning stores nothing"
    );
    Ok(())
}

#[tokio::test]
async fn the_presign_post_route_hands_its_policy_to_the_uploader() -> anyhow::Result<()> {
    let entry = entry();
    entry.context().set_config("max-upload-bytes", "1000");
    // The fake uploader's fields echo the policy it was asked for.
    for (path, key, range, expires) in [
        (
            "/objects/users/42/presign-post?prefix=true&content_type=image%2Fpng\
             &min_length=10&max_length=1000&expires=120",
            "users/42${filename}",
            "10,1000",
            120,
        ),
        (
            "/objects/a/b.png/presign-post?content_type=image%2Fpng&max_length=7",
            "a/b.png",
            "0,7",
            900,
        ),
    ] {
        let before = unix_now();
        let response = entry.request("POST", path, Bytes::new()).await?;
        let after = unix_now();
        assert_eq!(response.status, 200, "{path}: {}", response.text());
        let json = response.json()?;
        assert_eq!(
            json["url"], "https://fake-uploader.invalid/bucket",
            "{json}"
        );
        assert_eq!(json["method"], "POST", "{json}");
        assert_eq!(
            json["fields"],
            serde_json::json!({
                "key": key,
                "content-type": "image/png",
                "x-fake-content-length-range": range,
                "x-fake-expires": expires.to_string(),
            }),
            "{path}"
        );
        assert_expires(&json, expires, before, after);
    }
    Ok(())
}

#[tokio::test]
async fn refused_presign_requests_never_reach_the_uploader() -> anyhow::Result<()> {
    // A call to the fake uploader would answer this, and the route a 500.
    let reached = WitError::Internal("the fake uploader was called".into());
    let presign = "/objects/a/presign?content_type=a%2Fb&content_length=5";
    let post = "/objects/a/presign-post?content_type=a%2Fb&max_length=5";

    // Writes not configured (403), and a missing or wrong token (401).
    let closed = closed_entry();
    closed
        .context()
        .fake_uploader()
        .fail_with(Some(reached.clone()));
    for path in [presign, post] {
        let response = send_write(&closed, "POST", path, None).await?;
        assert_eq!(response.status, 403, "{path}: {}", response.text());
    }
    closed.context().set_config("upload-token", TOKEN);
    for path in [presign, post] {
        for token in [None, Some("not-the-token")] {
            let response = send_write(&closed, "POST", path, token).await?;
            assert_eq!(response.status, 401, "{path}: {}", response.text());
        }
    }

    // Bad queries and keys (400), and sizes over the limit (413). (A `..`
    // segment is the uploader's to refuse: the entry checks only for
    // characters that disguise a key.)
    let entry = entry();
    entry.context().set_config("max-upload-bytes", "100");
    entry
        .context()
        .fake_uploader()
        .fail_with(Some(reached.clone()));
    for (path, status) in [
        ("/objects/a/presign", 400),
        ("/objects/a/presign?content_type=a%2Fb", 400),
        ("/objects/a/presign?content_length=5", 400),
        (
            "/objects/a/presign?content_type=a%2Fb&content_length=five",
            400,
        ),
        (
            "/objects/a/presign?content_type=a%2Fb&content_length=5&expires=0",
            400,
        ),
        (
            "/objects/a/presign?content_type=a%2Fb&content_length=5&expires=604801",
            400,
        ),
        (
            "/objects/a/presign?content_type=a%2Fb&content_length=101",
            413,
        ),
        (
            "/objects/a%E2%80%AEb/presign?content_type=a%2Fb&content_length=5",
            400,
        ),
        ("/objects/a/presign-post?max_length=5", 400),
        ("/objects/a/presign-post?content_type=a%2Fb", 400),
        (
            "/objects/a/presign-post?content_type=a%2Fb&max_length=5&min_length=6",
            400,
        ),
        (
            "/objects/a/presign-post?content_type=a%2Fb&max_length=5&prefix=maybe",
            400,
        ),
        (
            "/objects/a/presign-post?content_type=a%2Fb&max_length=5&expires=0",
            400,
        ),
        (
            "/objects/a/presign-post?content_type=a%2Fb&max_length=101",
            413,
        ),
    ] {
        let response = entry.request("POST", path, Bytes::new()).await?;
        assert_eq!(response.status, status, "{path}: {}", response.text());
    }

    // The same routes, well formed, do reach it: the 500 is the fake's.
    for path in [presign, post] {
        let response = entry.request("POST", path, Bytes::new()).await?;
        assert_eq!(response.status, 500, "{path}: {}", response.text());
        assert_eq!(error_code(&response), "internal");
    }
    Ok(())
}
