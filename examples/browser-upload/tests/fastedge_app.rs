//! The composed app (`target/edgeplug/browser-upload-fastedge.wasm`, from
//! `browser-upload.wac`) on host-test's FastEdge fakes, through host-test's
//! public API only, as any user's FastEdge app would be tested: the page,
//! the policy, the counts, and a refused oversize policy.

use anyhow::{Context as _, Result};
use base64::Engine as _;
use host_test::artifacts::component_path;
use host_test::{FastEdge, FastEdgeOp, HostContext, HttpWorker, Request, Response, load_component};
use serde_json::Value;

const TOKEN: &str = "browser-upload-test-token";
const ENDPOINT: &str = "http://127.0.0.1:9";
const CAT: &str = r#"{"filename":"cat photo.png","content_type":"image/png"}"#;

/// The app on a fresh FastEdge platform: the uploader's settings as FastEdge
/// env vars and secrets, the page title, and the upload token as a secret.
fn app() -> Result<(HttpWorker, HostContext)> {
    let fastedge = FastEdge::new();
    fastedge.set_app_config("s3-endpoint", ENDPOINT);
    fastedge.set_app_config("s3-bucket", "uploads-bucket");
    fastedge.set_app_config("s3-access-key-id", "AKIDEXAMPLE");
    fastedge.set_app_config("s3-secret-access-key", "browser-upload-test-s3-secret");
    fastedge.set_env("PAGE_TITLE", "Send us <your> files");
    fastedge.set_secret("UPLOAD_TOKEN", TOKEN);
    let context = HostContext::new()
        .with_inherited_stdio(false)
        .with_fastedge(fastedge);
    let component = load_component(component_path("browser-upload-fastedge")?)?;
    Ok((HttpWorker::new(&component, context.clone())?, context))
}

fn counter(context: &HostContext, name: &str) -> Option<String> {
    context
        .fastedge()
        .cache_value(context.pop(), &format!("default/{name}"))
        .map(|value| String::from_utf8_lossy(&value).into_owned())
}

async fn ask(worker: &HttpWorker, token: Option<&str>, body: &str) -> Result<Response> {
    let mut request = Request::post("/uploads/policy")
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request.send(worker).await
}

fn field<'a>(policy: &'a Value, name: &str) -> Option<&'a str> {
    policy["fields"]
        .as_array()?
        .iter()
        .find(|pair| pair[0] == name)
        .and_then(|pair| pair[1].as_str())
}

#[tokio::test]
async fn the_page_has_the_dictionary_title_and_counts_views() -> Result<()> {
    let (worker, context) = app()?;
    Request::get("/").send(&worker).await?;
    let page = Request::get("/").send(&worker).await?;
    assert_eq!(page.status, 200, "{}", page.text());
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = page.text();
    assert!(
        html.contains("<h1>Send us &lt;your&gt; files</h1>"),
        "the title from PAGE_TITLE, escaped: {html}"
    );
    assert!(html.contains(r#"id="token""#), "a token is configured");
    assert!(html.contains("2 page views · 0 uploads granted"), "{html}");
    assert_eq!(counter(&context, "upload_page_views").as_deref(), Some("2"));
    assert!(
        context
            .fastedge()
            .calls()
            .iter()
            .any(|call| call.op == FastEdgeOp::DictionaryGet && call.key == "PAGE_TITLE"),
        "the title is read through FastEdge's dictionary"
    );
    Ok(())
}

#[tokio::test]
async fn a_policy_binds_the_bucket_key_type_and_size_range() -> Result<()> {
    let (worker, context) = app()?;
    let granted = ask(&worker, Some(TOKEN), CAT).await?;
    assert_eq!(granted.status, 200, "{}", granted.text());
    let policy = granted.json()?;
    assert_eq!(policy["url"], format!("{ENDPOINT}/uploads-bucket"));
    let key = policy["key"].as_str().context("key")?;
    assert!(
        key.starts_with("uploads/") && key.ends_with("/cat_photo.png"),
        "{key}"
    );
    assert_eq!(field(&policy, "key"), Some(key));
    assert_eq!(field(&policy, "Content-Type"), Some("image/png"));
    assert!(field(&policy, "x-amz-signature").is_some());

    let document = base64::engine::general_purpose::STANDARD
        .decode(field(&policy, "policy").context("policy field")?)?;
    let document: Value = serde_json::from_slice(&document)?;
    let conditions = document["conditions"].to_string();
    assert!(
        conditions.contains(r#"{"bucket":"uploads-bucket"}"#),
        "{conditions}"
    );
    assert!(
        conditions.contains(&format!(r#"["eq","$key","{key}"]"#)),
        "{conditions}"
    );
    assert!(
        conditions.contains(r#"["content-length-range",1,10485760]"#),
        "the default limit, 10 MiB: {conditions}"
    );
    assert_eq!(
        counter(&context, "upload_policies_granted").as_deref(),
        Some("1")
    );

    // Another file, another random folder.
    let again = ask(&worker, Some(TOKEN), CAT).await?.json()?;
    assert_ne!(again["key"], policy["key"]);
    Ok(())
}

#[tokio::test]
async fn no_policy_without_the_token_and_none_when_no_token_is_set() -> Result<()> {
    let (worker, context) = app()?;
    for token in [None, Some("wrong")] {
        let refused = ask(&worker, token, CAT).await?;
        assert_eq!(refused.status, 401, "{}", refused.text());
        assert_eq!(refused.header("www-authenticate"), Some("Bearer"));
        assert!(!refused.text().contains(TOKEN));
    }
    context.fastedge().remove_secret("UPLOAD_TOKEN");
    let closed = ask(&worker, Some(TOKEN), CAT).await?;
    assert_eq!(closed.status, 403, "{}", closed.text());
    assert_eq!(closed.json()?["error"]["code"], "writes_not_configured");
    assert_eq!(counter(&context, "upload_policies_granted"), None);
    Ok(())
}

#[tokio::test]
async fn a_stated_size_over_the_limit_gets_no_policy() -> Result<()> {
    let (worker, context) = app()?;
    context.fastedge().set_env("MAX_UPLOAD_BYTES", "1000");
    let refused = ask(
        &worker,
        Some(TOKEN),
        r#"{"filename":"big.bin","content_type":"application/octet-stream","size":1001}"#,
    )
    .await?;
    assert_eq!(refused.status, 413, "{}", refused.text());
    let body = refused.json()?;
    assert_eq!(body["error"]["code"], "too_large");
    assert_eq!(body["error"]["limit"], 1000);
    assert_eq!(counter(&context, "upload_policies_granted"), None);

    let fits = ask(
        &worker,
        Some(TOKEN),
        r#"{"filename":"ok.bin","content_type":"application/octet-stream","size":1000}"#,
    )
    .await?;
    assert_eq!(fits.status, 200, "{}", fits.text());
    Ok(())
}

#[tokio::test]
async fn the_stats_route_reports_both_counts() -> Result<()> {
    let (worker, _context) = app()?;
    Request::get("/").send(&worker).await?;
    ask(&worker, Some(TOKEN), CAT).await?;
    let stats = Request::get("/stats").send(&worker).await?;
    assert_eq!(stats.status, 200, "{}", stats.text());
    assert_eq!(
        stats.json()?,
        serde_json::json!({"page_views": 1, "policies_granted": 1})
    );
    Ok(())
}
