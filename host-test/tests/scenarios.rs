//! One list of HTTP scenarios, run against both composed flavors: the
//! portable `worker.wasm` (over the host's `wasi:keyvalue` and `wasi:config`)
//! and `worker-fastedge.wasm` (the same three components, with the FastEdge
//! adapters, over the host's `gcore:fastedge/*` fakes).
//!
//! Each scenario is written once against [`Harness`], which hides the only
//! differences: where config is set (config values, or FastEdge env vars and
//! secrets) and where counters are stored (a `wasi:keyvalue` bucket, or the
//! PoP's `cache-sync` under `{bucket}/`).

mod common;

use bytes::Bytes;
use common::{S3Fixture, SECRET};
use host_test::kv::{KvError, KvOp};
use host_test::{ConfigValues, FastEdgeOp, HostContext, HttpWorker, InstanceReuse, Response};
use http_body_util::BodyExt as _;

/// Which composed worker a scenario runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    Portable,
    FastEdge,
}

/// A worker of one flavor with a local S3 store and every uploader setting.
struct Harness {
    flavor: Flavor,
    worker: HttpWorker,
    s3: S3Fixture,
}

impl Harness {
    /// A worker deployed as README says: with a write token.
    fn new(flavor: Flavor) -> Self {
        let (context, s3) = common::context_with_s3();
        context.set_config("upload-token", common::WRITE_TOKEN);
        Self::with_context(flavor, context, s3)
    }

    /// A worker with no write token and no opt-in: writes are closed.
    fn without_token(flavor: Flavor) -> Self {
        let (context, s3) = common::context_with_s3();
        Self::with_context(flavor, context, s3)
    }

    fn with_context(flavor: Flavor, context: HostContext, s3: S3Fixture) -> Self {
        let name = match flavor {
            Flavor::Portable => "worker",
            Flavor::FastEdge => {
                // Move every setting to where FastEdge keeps it, and leave no
                // wasi:config value behind that could mask a mistake.
                for (key, value) in context.config().iter() {
                    context.fastedge().set_app_config(key, value);
                }
                context.replace_config(ConfigValues::new());
                "worker-fastedge"
            }
        };
        let worker = HttpWorker::new(&common::component(name), context)
            .unwrap_or_else(|e| panic!("{name} links: {e:#}"));
        Self { flavor, worker, s3 }
    }

    /// The portable worker with instance reuse on, one instance already
    /// waiting: the scenario's requests run on instances that answered
    /// before.
    async fn reusing_instances() -> anyhow::Result<Self> {
        let mut h = Self::new(Flavor::Portable);
        h.worker = h
            .worker
            .clone()
            .with_instance_reuse(InstanceReuse::up_to(1000));
        let warm_up = h.worker.get("/no-such-route").await?;
        assert_eq!(warm_up.status, 404, "{}", warm_up.text());
        Ok(h)
    }

    fn context(&self) -> &HostContext {
        self.worker.context()
    }

    /// `method path` with `body`, sending the write token.
    async fn write(
        &self,
        method: &str,
        path: &str,
        body: &'static [u8],
    ) -> anyhow::Result<Response> {
        let request = http::Request::builder()
            .method(method)
            .uri(format!("http://localhost{path}"))
            .header("content-length", body.len())
            .header("authorization", common::WRITE_AUTHORIZATION)
            .body(
                http_body_util::Full::new(Bytes::from_static(body))
                    .map_err(wasmtime_wasi_http::Error::from),
            )?;
        self.worker.send(request).await
    }

    fn set_config(&self, key: &str, value: &str) {
        match self.flavor {
            Flavor::Portable => self.context().set_config(key, value),
            Flavor::FastEdge => self.context().fastedge().set_app_config(key, value),
        }
    }

    fn remove_config(&self, key: &str) {
        match self.flavor {
            Flavor::Portable => self.context().remove_config(key),
            Flavor::FastEdge => self.context().fastedge().remove_app_config(key),
        }
    }

    /// The stored value of the key `key` of the counters' bucket (`default`).
    async fn stored(&self, key: &str) -> Option<Vec<u8>> {
        match self.flavor {
            Flavor::Portable => {
                let kv = self.context().fake_kv().expect("a fake KV");
                kv.backend().get("default", key).await.expect("readable")
            }
            Flavor::FastEdge => {
                let context = self.context();
                context
                    .fastedge()
                    .cache_value(context.pop(), &format!("default/{key}"))
            }
        }
    }

    /// How many atomic increments reached the store.
    fn increments(&self) -> usize {
        match self.flavor {
            Flavor::Portable => self
                .context()
                .fake_kv()
                .expect("a fake KV")
                .count(KvOp::Increment),
            Flavor::FastEdge => self.context().fastedge().count(FastEdgeOp::CacheIncr),
        }
    }

    /// Makes every KV call fail (`true`) or succeed again (`false`).
    fn break_kv(&self, broken: bool) {
        match (self.flavor, broken) {
            (Flavor::Portable, true) => self
                .context()
                .fake_kv()
                .expect("a fake KV")
                .fail_always(None, KvError::Other("connection reset".into())),
            (Flavor::Portable, false) => {
                self.context().fake_kv().expect("a fake KV").clear_faults()
            }
            (Flavor::FastEdge, true) => self
                .context()
                .fastedge()
                .fail_cache(host_test::fastedge::CacheError::Internal),
            (Flavor::FastEdge, false) => self.context().fastedge().clear_cache_fault(),
        }
    }
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

// ---------------------------------------------------------------------------
// The scenarios.
// ---------------------------------------------------------------------------

async fn page_views_count_up_in_ascii_decimal(h: &Harness) -> anyhow::Result<()> {
    for n in 1..=3 {
        let response = h.worker.get("/").await?;
        assert_eq!(response.status, 200);
        assert_eq!(response.text(), format!("Page views: {n}"));
    }
    assert_eq!(h.stored("page_views").await.as_deref(), Some(&b"3"[..]));
    assert_eq!(h.increments(), 3, "atomic increments only");
    Ok(())
}

async fn counters_read_and_add(h: &Harness) -> anyhow::Result<()> {
    let response = h.write("POST", "/counters/signups?by=7", b"").await?;
    assert_eq!(
        response.json()?,
        serde_json::json!({"name": "signups", "value": 7})
    );
    let response = h.worker.get("/counters/signups").await?;
    assert_eq!(
        response.json()?,
        serde_json::json!({"name": "signups", "value": 7})
    );
    assert_eq!(h.worker.get("/counters/unknown").await?.json()?["value"], 0);
    Ok(())
}

async fn the_counter_prefix_setting_applies(h: &Harness) -> anyhow::Result<()> {
    h.set_config("counter-prefix", "site1:");
    h.write("POST", "/counters/likes?by=2", b"").await?;
    assert_eq!(h.stored("site1:likes").await.as_deref(), Some(&b"2"[..]));
    assert_eq!(h.stored("likes").await, None);
    Ok(())
}

async fn concurrent_increments_never_lose_a_count(h: &Harness) -> anyhow::Result<()> {
    let requests = (0..16).map(|_| {
        let worker = h.worker.clone();
        tokio::spawn(async move {
            let request = http::Request::post("http://localhost/counters/hits")
                .header("authorization", common::WRITE_AUTHORIZATION)
                .body(
                    http_body_util::Empty::<Bytes>::new().map_err(wasmtime_wasi_http::Error::from),
                )?;
            worker.send(request).await
        })
    });
    for request in futures::future::join_all(requests).await {
        assert_eq!(request??.status, 200);
    }
    assert_eq!(h.worker.get("/counters/hits").await?.json()?["value"], 16);
    Ok(())
}

async fn an_upload_lands_byte_identical_in_the_store(h: &Harness) -> anyhow::Result<()> {
    let body: &[u8] = b"The quick brown fox jumps over the lazy dog.\n";
    let response = h.write("PUT", "/objects/a/b.txt", body).await?;
    assert_eq!(response.status, 201, "{}", response.text());
    let json = response.json()?;
    assert_eq!(json["key"], "a/b.txt");
    assert_eq!(json["size"], body.len());
    assert_eq!(h.s3.object("a/b.txt").as_deref(), Some(body));
    Ok(())
}

async fn bad_input_gets_a_clear_json_error_and_never_a_trap(h: &Harness) -> anyhow::Result<()> {
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
        // Safe by default: no pinned counters, no reach into other components'
        // names, no keys that display as something else.
        (
            "POST",
            "/counters/x?by=18446744073709551615",
            400,
            "invalid_input",
        ),
        (
            "POST",
            "/counters/x?by=9223372036854775807",
            400,
            "invalid_input",
        ),
        ("POST", "/counters/x?by=101", 400, "invalid_input"),
        ("GET", "/counters/rl:1:victim", 400, "invalid_input"),
        ("POST", "/counters/rl:1:victim?by=5", 400, "invalid_input"),
        ("PUT", "/objects/evil%E2%80%AEtxt.exe", 400, "invalid_input"),
        ("PUT", "/objects/zero%E2%80%8Bwidth", 400, "invalid_input"),
        ("PUT", "/objects/bom%EF%BB%BF", 400, "invalid_input"),
        ("PUT", "/objects/line%E2%80%A8sep", 400, "invalid_input"),
        ("PUT", "/objects/para%E2%80%A9sep", 400, "invalid_input"),
        (
            "POST",
            "/objects/a.txt/presign?content_length=1",
            400,
            "invalid_input",
        ),
        (
            "POST",
            "/objects/a.txt/presign?content_type=text/plain",
            400,
            "invalid_input",
        ),
        (
            "POST",
            "/objects/a.txt/presign?content_type=text/plain&content_length=x",
            400,
            "invalid_input",
        ),
        (
            "POST",
            "/objects/a.txt/presign?content_type=text/plain&content_length=5368709121",
            413,
            "too_large",
        ),
    ];
    for (method, path, status, code) in cases {
        let response = h
            .write(method, path, b"x")
            .await
            .map_err(|e| anyhow::anyhow!("{method} {path}: {e:#}"))?;
        assert_json_error(&response, *status, code);
    }
    let bucket = h.s3.s3.object_path(common::BUCKET, "");
    assert_eq!(std::fs::read_dir(bucket)?.count(), 0, "nothing stored");
    Ok(())
}

async fn a_fifty_mebibyte_upload_streams_through(h: &Harness) -> anyhow::Result<()> {
    use host_test::bodies::{PatternBody, pattern_sha256, sha256_hex};
    let len = 50 * 1024 * 1024;
    let request = http::Request::put("http://localhost/objects/big/fifty.bin")
        .header("content-length", len)
        .header("authorization", common::WRITE_AUTHORIZATION)
        .body(PatternBody::new(len))?;
    let response = h.worker.send(request).await?;
    assert_eq!(response.status, 201, "{}", response.text());
    let stored = h.s3.object("big/fifty.bin").expect("stored");
    assert_eq!(sha256_hex(&stored), pattern_sha256(len));
    Ok(())
}

async fn missing_uploader_config_is_a_500_naming_the_key(h: &Harness) -> anyhow::Result<()> {
    h.remove_config("s3-bucket");
    let response = h.write("PUT", "/objects/x.txt", b"x").await?;
    assert_json_error(&response, 500, "internal");
    assert!(response.text().contains("s3-bucket"), "{}", response.text());
    assert_eq!(h.worker.get("/").await?.status, 200, "the rest still works");
    Ok(())
}

async fn a_missing_secret_is_a_500_naming_the_key(h: &Harness) -> anyhow::Result<()> {
    h.remove_config("s3-secret-access-key");
    let response = h.write("PUT", "/objects/x.txt", b"x").await?;
    assert_json_error(&response, 500, "internal");
    assert!(
        response.text().contains("s3-secret-access-key"),
        "{}",
        response.text()
    );
    assert_eq!(h.s3.object("x.txt"), None);
    Ok(())
}

async fn a_failing_kv_store_is_a_503(h: &Harness) -> anyhow::Result<()> {
    h.break_kv(true);
    assert_json_error(&h.worker.get("/").await?, 503, "unavailable");
    assert_json_error(&h.worker.get("/counters/x").await?, 503, "unavailable");
    h.break_kv(false);
    assert_eq!(h.worker.get("/").await?.text(), "Page views: 1");
    Ok(())
}

async fn a_wrong_secret_is_a_502_that_never_shows_a_secret(h: &Harness) -> anyhow::Result<()> {
    let wrong = "definitely-wrong-secret";
    h.set_config("s3-secret-access-key", wrong);
    let response = h.write("PUT", "/objects/x.txt", b"x").await?;
    assert_json_error(&response, 502, "upstream");
    let text = response.text();
    assert!(!text.contains(wrong) && !text.contains(SECRET), "{text}");
    assert_eq!(h.s3.object("x.txt"), None);
    Ok(())
}

async fn over_the_limit_is_a_413_before_any_byte_goes_upstream(h: &Harness) -> anyhow::Result<()> {
    h.set_config("max-upload-bytes", "1024");
    let response = h.write("PUT", "/objects/big.bin", &[7u8; 1025]).await?;
    assert_json_error(&response, 413, "too_large");
    assert!(h.context().outbound().requests().is_empty());
    Ok(())
}

async fn the_upload_token_guards_uploads(h: &Harness) -> anyhow::Result<()> {
    // A secret on FastEdge (`UPLOAD_TOKEN`), a config value elsewhere.
    h.set_config("upload-token", "t0k3n-Zq9");
    let put = |authorization: Option<&str>| {
        let mut request =
            http::Request::put("http://localhost/objects/guarded.txt").header("content-length", 2);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        request.body(
            http_body_util::Full::new(Bytes::from_static(b"hi"))
                .map_err(wasmtime_wasi_http::Error::from),
        )
    };
    let response = h.worker.send(put(None)?).await?;
    assert_json_error(&response, 401, "unauthorized");
    let response = h.worker.send(put(Some("Bearer wrong"))?).await?;
    assert_json_error(&response, 401, "unauthorized");
    assert!(!response.text().contains("t0k3n-Zq9"));
    let response = h.worker.send(put(Some("Bearer t0k3n-Zq9"))?).await?;
    assert_eq!(response.status, 201, "{}", response.text());
    assert_eq!(h.s3.object("guarded.txt").as_deref(), Some(&b"hi"[..]));
    Ok(())
}

/// Sends a request as a plain HTTP client would (no signing of its own)
/// straight to the local store.
async fn to_store(
    h: &Harness,
    url: &str,
    headers: &serde_json::Value,
    body: &'static [u8],
) -> anyhow::Result<u16> {
    use host_test::OutboundHandler as _;
    let uri: http::Uri = url.parse()?;
    let mut request = http::Request::put(&uri)
        .header(
            "host",
            uri.authority().map(|a| a.as_str()).unwrap_or_default(),
        )
        .header("content-length", body.len());
    for (name, value) in headers.as_object().into_iter().flatten() {
        if !name.eq_ignore_ascii_case("content-length") {
            request = request.header(name.as_str(), value.as_str().unwrap_or_default());
        }
    }
    let request = request.body(
        http_body_util::Full::new(Bytes::from_static(body))
            .map_err(wasmtime_wasi_http::Error::from)
            .boxed_unsync(),
    )?;
    let response =
        h.s3.s3
            .handle(request)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    Ok(response.status().as_u16())
}

async fn a_presigned_put_stores_only_what_it_was_signed_for(h: &Harness) -> anyhow::Result<()> {
    let response = h
        .write(
            "POST",
            "/objects/photos/cat.txt/presign?content_type=text/plain%3B+charset%3Dutf-8&content_length=5",
            b"",
        )
        .await?;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let text = response.text();
    assert!(!text.contains(SECRET), "{text}");
    let json = response.json()?;
    let url = json["url"].as_str().unwrap_or_default().to_owned();
    let headers = json["headers"].clone();
    // `+` in the query is a space: the bound type is the browser's.
    assert_eq!(
        headers["content-type"], "text/plain; charset=utf-8",
        "{json}"
    );
    // One byte over the signed length, or another type: the store refuses.
    let status = to_store(h, &url, &headers, b"hello!").await?;
    assert!((400..500).contains(&status), "one byte over: {status}");
    let mut html = headers.clone();
    html["content-type"] = serde_json::json!("text/html");
    let status = to_store(h, &url, &html, b"hello").await?;
    assert!((400..500).contains(&status), "another type: {status}");
    assert_eq!(h.s3.object("photos/cat.txt"), None);
    // Exactly what was signed: stored.
    assert_eq!(to_store(h, &url, &headers, b"hello").await?, 200);
    assert_eq!(
        h.s3.object("photos/cat.txt").as_deref(),
        Some(&b"hello"[..])
    );
    Ok(())
}

async fn writes_are_closed_without_a_token(flavor: Flavor) -> anyhow::Result<()> {
    let h = Harness::without_token(flavor);
    for (method, path) in [
        ("PUT", "/objects/x.txt"),
        (
            "POST",
            "/objects/x.txt/presign?content_type=text/plain&content_length=1",
        ),
        ("POST", "/counters/x"),
    ] {
        let response = h
            .worker
            .request(method, path, Bytes::from_static(b"x"))
            .await?;
        assert_json_error(&response, 403, "writes_not_configured");
        assert!(
            response.text().contains("upload-token"),
            "{}",
            response.text()
        );
    }
    assert_eq!(h.s3.object("x.txt"), None);
    assert!(
        h.context().outbound().requests().is_empty(),
        "nothing went upstream"
    );
    assert_eq!(h.worker.get("/").await?.text(), "Page views: 1");
    // The named opt-in opens uploads, and only uploads.
    h.set_config("allow-anonymous-uploads", "true");
    let response = h
        .worker
        .request("PUT", "/objects/x.txt", Bytes::from_static(b"x"))
        .await?;
    assert_eq!(response.status, 201, "{}", response.text());
    let response = h
        .worker
        .request("POST", "/counters/x", Bytes::new())
        .await?;
    assert_json_error(&response, 403, "writes_not_configured");
    h.set_config("allow-anonymous-counter-writes", "true");
    let response = h
        .worker
        .request("POST", "/counters/x", Bytes::new())
        .await?;
    assert_eq!(response.status, 200, "{}", response.text());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portable_writes_are_closed_without_a_token() -> anyhow::Result<()> {
    writes_are_closed_without_a_token(Flavor::Portable).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fastedge_writes_are_closed_without_a_token() -> anyhow::Result<()> {
    writes_are_closed_without_a_token(Flavor::FastEdge).await
}

async fn a_counter_at_its_maximum_never_breaks_page_views(h: &Harness) -> anyhow::Result<()> {
    h.write("POST", "/counters/edge?by=1", b"").await?;
    // Pin the stored value at the top, as a hand-edited or hostile store might.
    match h.flavor {
        Flavor::Portable => {
            let kv = h.context().fake_kv().expect("a fake KV");
            kv.seed("default", "page_views", u64::MAX.to_string().into_bytes())
                .await?;
        }
        Flavor::FastEdge => {
            let context = h.context();
            context.fastedge().seed_cache(
                context.pop(),
                "default/page_views",
                // cache-sync counts in i64, as Redis does.
                i64::MAX.to_string(),
            );
        }
    }
    for _ in 0..2 {
        let response = h.worker.get("/").await?;
        assert_eq!(response.status, 200, "{}", response.text());
    }
    let response = h.write("POST", "/counters/page_views?by=1", b"").await?;
    assert_json_error(&response, 409, "counter_at_maximum");
    Ok(())
}

/// Runs every scenario named against both flavors: one test per scenario
/// and flavor, in the modules `portable` and `fastedge`; and once more on
/// the portable worker with instance reuse on (`reused`), where every
/// promise must hold just the same.
macro_rules! against_both_flavors {
    ($($scenario:ident),* $(,)?) => {
        mod portable {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() -> anyhow::Result<()> {
                    super::$scenario(&super::Harness::new(super::Flavor::Portable)).await
                }
            )*
        }
        mod fastedge {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() -> anyhow::Result<()> {
                    super::$scenario(&super::Harness::new(super::Flavor::FastEdge)).await
                }
            )*
        }
        mod reused {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() -> anyhow::Result<()> {
                    let h = super::Harness::reusing_instances().await?;
                    super::$scenario(&h).await?;
                    let stats = h.worker.instance_stats();
                    assert!(stats.reused > 0, "no request ran on a reused instance: {stats:?}");
                    Ok(())
                }
            )*
        }
    };
}

against_both_flavors!(
    page_views_count_up_in_ascii_decimal,
    counters_read_and_add,
    the_counter_prefix_setting_applies,
    concurrent_increments_never_lose_a_count,
    an_upload_lands_byte_identical_in_the_store,
    bad_input_gets_a_clear_json_error_and_never_a_trap,
    a_fifty_mebibyte_upload_streams_through,
    missing_uploader_config_is_a_500_naming_the_key,
    a_missing_secret_is_a_500_naming_the_key,
    a_failing_kv_store_is_a_503,
    a_wrong_secret_is_a_502_that_never_shows_a_secret,
    over_the_limit_is_a_413_before_any_byte_goes_upstream,
    the_upload_token_guards_uploads,
    a_presigned_put_stores_only_what_it_was_signed_for,
    a_counter_at_its_maximum_never_breaks_page_views,
);
