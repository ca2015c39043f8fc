//! The local store's CORS, met as a browser meets it: raw HTTP/1.1 over
//! TCP to a served store, with an `Origin` header. A page on an allowed
//! origin gets its preflights answered and may read the store's answers
//! (successes and refusals alike); a page on any other origin gets a 403
//! preflight and answers without CORS headers, which its browser keeps
//! from it; a store given no origin has no CORS at all.
//!
//! The POST policies are signed by the uploader component, as the worker
//! signs them for a page.

mod common;

use std::net::SocketAddr;

use common::S3Fixture;
use host_test::bindings::uploader::exports::edgeplug::worker::uploader::{
    PostPolicyOptions, PresignedPost,
};
use host_test::{CorsRule, HostContext, UploaderClient};

/// The origin of the page the store allows, as the worker serves it.
const PAGE: &str = "http://127.0.0.1:8080";
/// An origin the store does not allow.
const OTHER: &str = "http://elsewhere.test";

/// What the store answered.
struct Answer {
    status: u16,
    /// Each header line, its name in lower case, in order.
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    /// The value of the header `name`, if it came once or more (the first).
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every `Access-Control-*` header line.
    fn cors_headers(&self) -> Vec<&(String, String)> {
        self.headers
            .iter()
            .filter(|(name, _)| name.starts_with("access-control-"))
            .collect()
    }

    /// The comma-separated names in the header `name`, in lower case.
    fn listed(&self, name: &str) -> Vec<String> {
        self.header(name)
            .unwrap_or_default()
            .split(',')
            .map(|item| item.trim().to_ascii_lowercase())
            .filter(|item| !item.is_empty())
            .collect()
    }
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}", self.status)?;
        for (name, value) in &self.headers {
            writeln!(f, "{name}: {value}")?;
        }
        write!(f, "\n{}", self.body)
    }
}

/// Sends `head` then `body` over a fresh connection and reads the answer to
/// its end (every request here says `Connection: close`).
async fn exchange(addr: SocketAddr, head: String, body: &[u8]) -> anyhow::Result<Answer> {
    let raw = common::raw_http::exchange(addr, head, body).await?;
    Ok(Answer {
        status: raw.status,
        headers: raw.headers,
        body: raw.body,
    })
}

/// A browser's preflight from `origin` for `method` (and `headers`, if
/// any) on an object of the bucket.
async fn preflight(
    addr: SocketAddr,
    origin: &str,
    method: &str,
    headers: Option<&str>,
) -> anyhow::Result<Answer> {
    let mut head = format!(
        "OPTIONS /{}/forms/photo.txt HTTP/1.1\r\nHost: {addr}\r\nOrigin: {origin}\r\n\
         Access-Control-Request-Method: {method}\r\n",
        common::BUCKET
    );
    if let Some(headers) = headers {
        head.push_str(&format!("Access-Control-Request-Headers: {headers}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    exchange(addr, head, b"").await
}

/// The store of a fresh fixture served on a loopback port, with `rule` if
/// given; the context's uploader presigns for the served address.
async fn served(rule: Option<CorsRule>) -> anyhow::Result<(HostContext, S3Fixture, SocketAddr)> {
    let (context, fixture) = common::context_with_s3();
    let store = match rule {
        Some(rule) => fixture.s3.clone().with_cors(rule),
        None => fixture.s3.clone(),
    };
    let addr = store.spawn_server("127.0.0.1:0".parse()?).await?;
    context.set_config("s3-endpoint", format!("http://{addr}"));
    Ok((context, fixture, addr))
}

/// A POST policy for `key`, 1 to 10 bytes of text, signed by the uploader
/// component.
async fn signed_post(context: HostContext, key: &str) -> anyhow::Result<PresignedPost> {
    let uploader = UploaderClient::new(&common::component("uploader"), context)?;
    let options = PostPolicyOptions {
        key: key.into(),
        key_is_prefix: false,
        content_type: "text/plain".into(),
        min_length: 1,
        max_length: 10,
    };
    uploader
        .presign_post(options, 300)
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}"))
}

/// The browser's `multipart/form-data` POST of `post`'s fields and then
/// `file`, from a page on `origin`.
async fn form_post(
    addr: SocketAddr,
    post: &PresignedPost,
    origin: &str,
    file: &[u8],
) -> anyhow::Result<Answer> {
    let path = post
        .url
        .strip_prefix(&format!("http://{addr}"))
        .ok_or_else(|| anyhow::anyhow!("{} is not on the served store", post.url))?;
    let boundary = common::raw_http::FORM_BOUNDARY;
    let body = common::raw_http::form_body(&post.fields, "photo.txt", "text/plain", file);
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nOrigin: {origin}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    exchange(addr, head, &body).await
}

#[tokio::test]
async fn a_preflight_from_an_allowed_origin_is_answered_200_with_the_rules_headers()
-> anyhow::Result<()> {
    let (_context, _fixture, addr) = served(Some(CorsRule::for_origins([PAGE]))).await?;
    let answer = preflight(addr, PAGE, "POST", Some("Content-Type, X-Amz-Meta-Note")).await?;
    // An unsigned OPTIONS that reached `s3s` would be refused: the 200 is
    // the CORS layer's own answer.
    assert_eq!(answer.status, 200, "{answer}");
    assert_eq!(answer.header("access-control-allow-origin"), Some(PAGE));
    assert_eq!(
        answer.listed("access-control-allow-methods"),
        ["get", "put", "post", "head"],
        "{answer}"
    );
    // As S3 with `AllowedHeader *`: the requested headers, echoed.
    assert_eq!(
        answer.listed("access-control-allow-headers"),
        ["content-type", "x-amz-meta-note"],
        "{answer}"
    );
    assert_eq!(answer.header("access-control-max-age"), Some("600"));
    let exposed = answer.listed("access-control-expose-headers");
    assert!(
        exposed.contains(&"etag".to_owned()) && exposed.contains(&"x-amz-version-id".to_owned()),
        "{answer}"
    );
    assert!(
        answer.listed("vary").contains(&"origin".to_owned()),
        "{answer}"
    );
    assert!(answer.body.is_empty(), "{answer}");
    Ok(())
}

#[tokio::test]
async fn a_preflight_from_another_origin_is_refused_403_with_an_s3_error() -> anyhow::Result<()> {
    let (_context, _fixture, addr) = served(Some(CorsRule::for_origins([PAGE]))).await?;
    let answer = preflight(addr, OTHER, "POST", None).await?;
    assert_eq!(answer.status, 403, "{answer}");
    assert!(
        answer.body.contains("<Code>AccessForbidden</Code>")
            && answer
                .body
                .contains("CORSResponse: This CORS request is not allowed"),
        "{answer}"
    );
    assert_eq!(answer.cors_headers(), Vec::<&(String, String)>::new());
    Ok(())
}

#[tokio::test]
async fn a_preflight_for_a_method_or_header_the_rule_does_not_allow_is_refused()
-> anyhow::Result<()> {
    let rule = CorsRule {
        allowed_headers: vec!["content-type".into(), "x-amz-meta-*".into()],
        ..CorsRule::for_origins([PAGE])
    };
    let (_context, _fixture, addr) = served(Some(rule)).await?;
    let answer = preflight(addr, PAGE, "DELETE", None).await?;
    assert_eq!(answer.status, 403, "{answer}");
    assert!(answer.body.contains("<Method>DELETE</Method>"), "{answer}");
    let answer = preflight(addr, PAGE, "PUT", Some("content-type, x-amz-acl")).await?;
    assert_eq!(answer.status, 403, "{answer}");
    assert!(answer.body.contains("CORSResponse"), "{answer}");
    // The same preflight naming only allowed headers passes.
    let answer = preflight(addr, PAGE, "PUT", Some("Content-Type, x-amz-meta-note")).await?;
    assert_eq!(answer.status, 200, "{answer}");
    Ok(())
}

#[tokio::test]
async fn a_signed_post_from_an_allowed_origin_carries_access_control_allow_origin()
-> anyhow::Result<()> {
    let (context, fixture, addr) = served(Some(CorsRule::for_origins([PAGE]))).await?;
    let post = signed_post(context, "forms/allowed.txt").await?;
    let answer = form_post(addr, &post, PAGE, b"0123456789").await?;
    assert_eq!(answer.status, 204, "{answer}");
    assert_eq!(
        fixture.object("forms/allowed.txt").as_deref(),
        Some(&b"0123456789"[..])
    );
    assert_eq!(answer.header("access-control-allow-origin"), Some(PAGE));
    assert!(
        answer.listed("vary").contains(&"origin".to_owned()),
        "{answer}"
    );
    assert!(
        answer
            .listed("access-control-expose-headers")
            .contains(&"etag".to_owned()),
        "{answer}"
    );
    Ok(())
}

#[tokio::test]
async fn a_refusal_from_the_store_is_readable_by_an_allowed_page() -> anyhow::Result<()> {
    let (context, fixture, addr) = served(Some(CorsRule::for_origins([PAGE]))).await?;
    let post = signed_post(context, "forms/too-big.txt").await?;
    let answer = form_post(addr, &post, PAGE, b"0123456789X").await?;
    assert_eq!(answer.status, 400, "{answer}");
    assert!(
        answer.body.contains("<Code>EntityTooLarge</Code>"),
        "{answer}"
    );
    assert_eq!(answer.header("access-control-allow-origin"), Some(PAGE));
    assert_eq!(fixture.object("forms/too-big.txt"), None);
    Ok(())
}

#[tokio::test]
async fn a_signed_post_from_another_origin_is_served_without_cors_headers() -> anyhow::Result<()> {
    let (context, fixture, addr) = served(Some(CorsRule::for_origins([PAGE]))).await?;
    let post = signed_post(context, "forms/elsewhere.txt").await?;
    let answer = form_post(addr, &post, OTHER, b"hello").await?;
    // As S3 does: the request is served, but its browser keeps the answer
    // from the page.
    assert_eq!(answer.status, 204, "{answer}");
    assert_eq!(
        fixture.object("forms/elsewhere.txt").as_deref(),
        Some(&b"hello"[..])
    );
    assert_eq!(answer.cors_headers(), Vec::<&(String, String)>::new());
    assert_eq!(answer.header("vary"), None, "{answer}");
    Ok(())
}

#[tokio::test]
async fn a_store_with_no_origins_configured_answers_no_cors_headers() -> anyhow::Result<()> {
    let no_origins = CorsRule::for_origins(Vec::<String>::new());
    for rule in [None, Some(no_origins)] {
        let (context, fixture, addr) = served(rule).await?;
        let answer = preflight(addr, PAGE, "POST", None).await?;
        // `s3s` answers it, as it did before the store had CORS: no
        // preflight answer, neither granted nor refused.
        assert_ne!(answer.status, 200, "{answer}");
        assert!(!answer.body.contains("CORSResponse"), "{answer}");
        assert_eq!(answer.cors_headers(), Vec::<&(String, String)>::new());
        let post = signed_post(context, "forms/plain.txt").await?;
        let answer = form_post(addr, &post, PAGE, b"hello").await?;
        assert_eq!(answer.status, 204, "{answer}");
        assert_eq!(
            fixture.object("forms/plain.txt").as_deref(),
            Some(&b"hello"[..])
        );
        assert_eq!(answer.cors_headers(), Vec::<&(String, String)>::new());
    }
    Ok(())
}
