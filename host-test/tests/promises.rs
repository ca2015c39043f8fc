//! Promises the docs make that no other test kept: temporary credentials
//! (`s3-session-token`) and a non-default `s3-region` against the
//! signature-verifying local store, and the composed worker's 503
//! `unavailable` when the store cannot be reached, on both flavors.
//!
//! What the local store can and cannot check: `s3s` recomputes every
//! signature with the region named in the request's own credential scope
//! and knows no session tokens, so it would accept any region and any token
//! a client signs. What it does check is the signature, and the signature
//! covers both the scope and (as a signed header or query parameter) the
//! token. So these tests show the store accepts what the uploader signs,
//! that the requests name the region and carry the token, and that a
//! request whose token or region was changed after signing is refused.

mod common;

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use common::{ACCESS_KEY_ID, S3_AUTHORITY, S3Fixture, SECRET};
use host_test::bindings::WitError;
use host_test::bindings::uploader::exports::edgeplug::worker::uploader::PostPolicyOptions;
use host_test::bodies::{PatternBody, pattern_sha256, sha256_hex};
use host_test::{
    ConfigValues, HostContext, HttpWorker, LocalS3, OutboundHandler, UploadOptions, UploaderClient,
};
use http_body_util::{BodyExt as _, Full};
use wasmtime_wasi_http::{Error as HttpError, WasiBody};

/// The STS session token the uploader is configured with; a secret, so no
/// answer or error may contain it.
const SESSION_TOKEN: &str = "edgeplug-session-token-Rb7nK2";
/// A region other than the default `us-east-1`.
const REGION: &str = "eu-central-1";
const MIB: u64 = 1024 * 1024;

fn whole(
    bytes: impl Into<Bytes>,
) -> impl http_body::Body<Data = Bytes, Error = wasmtime_wasi_http::Error> + Send + 'static {
    Full::new(bytes.into()).map_err(|never| match never {})
}

fn sized(content_type: &str, len: u64) -> UploadOptions {
    UploadOptions {
        content_type: Some(content_type.into()),
        content_length: Some(len),
        max_length: None,
    }
}

/// The uploader with temporary credentials in a non-default region.
fn uploader_with_session() -> (UploaderClient, HostContext, S3Fixture) {
    let (context, s3) = common::context_with_s3();
    context.set_config("s3-region", REGION);
    context.set_config("s3-session-token", SESSION_TOKEN);
    let client =
        UploaderClient::new(&common::component("uploader"), context.clone()).expect("links");
    (client, context, s3)
}

/// The credential scope every request must name: `{key id}/{date}/{region}/s3/aws4_request`.
fn assert_scope(credential: &str) {
    let parts: Vec<&str> = credential.split('/').collect();
    assert_eq!(parts.len(), 5, "{credential}");
    assert_eq!(parts[0], ACCESS_KEY_ID, "{credential}");
    assert_eq!(parts[2..], [REGION, "s3", "aws4_request"], "{credential}");
}

/// A store in front of which every request is changed by `edit` after it
/// was signed, before the store verifies it.
struct ChangedInTransit {
    store: LocalS3,
    edit: fn(&mut http::Request<WasiBody>),
}

#[async_trait]
impl OutboundHandler for ChangedInTransit {
    async fn handle(
        &self,
        mut request: http::Request<WasiBody>,
    ) -> Result<http::Response<WasiBody>, HttpError> {
        (self.edit)(&mut request);
        self.store.handle(request).await
    }
}

/// Puts an object through the uploader (temporary credentials, another
/// region) with its request changed by `edit` after signing, and asserts
/// that the store refused it and nothing was stored.
async fn put_changed_in_transit(edit: fn(&mut http::Request<WasiBody>)) -> anyhow::Result<()> {
    let (uploader, context, s3) = uploader_with_session();
    context.set_config("s3-retry-max-attempts", "1");
    context.outbound().route(
        S3_AUTHORITY,
        Arc::new(ChangedInTransit {
            store: s3.s3.clone(),
            edit,
        }),
    );
    let result = uploader
        .put("changed.txt", whole(&b"x"[..]), sized("text/plain", 1))
        .await?;
    match &result {
        Err(WitError::Upstream(e)) => {
            assert_eq!((e.status, e.code.as_str()), (403, "SignatureDoesNotMatch"));
            assert!(!e.message.contains(SESSION_TOKEN), "{}", e.message);
        }
        other => panic!("a request changed after signing must be refused, got {other:?}"),
    }
    assert_eq!(s3.object("changed.txt"), None);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_token_and_a_region_are_signed_into_every_request_and_the_store_accepts_them()
-> anyhow::Result<()> {
    let (uploader, context, s3) = uploader_with_session();
    let info = uploader
        .put(
            "session/small.txt",
            whole(&b"hello"[..]),
            sized("text/plain", 5),
        )
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    assert_eq!(info.size, 5);
    assert_eq!(s3.object("session/small.txt"), Some(b"hello".to_vec()));
    // A multipart upload too: create, each part, complete.
    let len = 17 * MIB;
    uploader
        .put(
            "session/big.bin",
            PatternBody::new(len),
            sized("application/octet-stream", len),
        )
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    assert_eq!(
        s3.object("session/big.bin").map(|bytes| sha256_hex(&bytes)),
        Some(pattern_sha256(len))
    );

    let requests = context.outbound().requests_to(S3_AUTHORITY);
    assert!(requests.len() >= 5, "{} requests", requests.len());
    for request in &requests {
        let what = format!("{} {}", request.method, request.uri);
        // Compared without printing: the token is a secret.
        assert!(
            request.header("x-amz-security-token") == Some(SESSION_TOKEN),
            "{what}: the session token is not sent as configured"
        );
        let auth = request.header("authorization").unwrap_or_default();
        let credential = auth
            .split("Credential=")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .unwrap_or_default();
        assert_scope(credential);
        let signed = auth
            .split("SignedHeaders=")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .unwrap_or_default();
        assert!(
            signed.split(';').any(|name| name == "x-amz-security-token"),
            "{what}: the token is not signed: {signed}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_session_token_changed_after_signing_is_refused_by_the_store() -> anyhow::Result<()> {
    put_changed_in_transit(|request| {
        request.headers_mut().insert(
            "x-amz-security-token",
            http::HeaderValue::from_static("another-session-token"),
        );
    })
    .await
}

#[tokio::test]
async fn a_region_changed_after_signing_is_refused_by_the_store() -> anyhow::Result<()> {
    put_changed_in_transit(|request| {
        let changed = request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(|auth| auth.replace(&format!("/{REGION}/"), "/us-east-1/"))
            .and_then(|auth| http::HeaderValue::from_str(&auth).ok());
        if let Some(changed) = changed {
            request.headers_mut().insert("authorization", changed);
        }
    })
    .await
}

/// Sends a plain, unsigned `PUT` of `body` to `url` straight into the
/// store, with `headers` (but the body's real length): its status.
async fn plain_put(
    store: &LocalS3,
    url: &str,
    headers: &[(String, String)],
    body: &'static [u8],
) -> anyhow::Result<u16> {
    let uri: http::Uri = url.parse()?;
    let host = uri.authority().map(|a| a.to_string()).unwrap_or_default();
    // The body's own length, whatever the headers to send say: a client
    // sending another body sends its real length.
    let mut request = http::Request::put(uri)
        .header("host", host)
        .header("content-length", body.len());
    for (name, value) in headers {
        if !name.eq_ignore_ascii_case("content-length") {
            request = request.header(name.as_str(), value.as_str());
        }
    }
    let request = request.body(
        Full::new(Bytes::from_static(body))
            .map_err(HttpError::from)
            .boxed_unsync(),
    )?;
    Ok(store
        .handle(request)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .status()
        .as_u16())
}

#[tokio::test]
async fn a_presigned_put_with_a_session_token_and_a_region_is_accepted_by_the_store()
-> anyhow::Result<()> {
    let (uploader, _context, s3) = uploader_with_session();
    let presigned = uploader
        .presign_put("session/presigned.txt", 600, sized("text/plain", 2))
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let url = presigned.url.clone();
    let query: Vec<(String, String)> = url
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| {
            let v = percent_encoding::percent_decode_str(v).decode_utf8_lossy();
            (k.to_owned(), v.into_owned())
        })
        .collect();
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert!(
        param("X-Amz-Security-Token") == Some(SESSION_TOKEN),
        "the URL does not carry the session token as configured"
    );
    assert_scope(param("X-Amz-Credential").unwrap_or_default());

    assert_eq!(
        plain_put(&s3.s3, &url, &presigned.headers, b"hi").await?,
        200,
        "the store refused the presigned URL"
    );
    assert_eq!(s3.object("session/presigned.txt"), Some(b"hi".to_vec()));

    // The token is part of what the URL's signature covers.
    let changed = url.replace("X-Amz-Security-Token=", "X-Amz-Security-Token=x");
    assert_eq!(
        plain_put(&s3.s3, &changed, &presigned.headers, b"ho").await?,
        403
    );
    assert_eq!(s3.object("session/presigned.txt"), Some(b"hi".to_vec()));
    Ok(())
}

#[tokio::test]
async fn a_post_policy_with_a_session_token_names_it_and_the_region() -> anyhow::Result<()> {
    let (uploader, _context, _s3) = uploader_with_session();
    let post = uploader
        .presign_post(
            PostPolicyOptions {
                key: "forms/a.txt".into(),
                key_is_prefix: false,
                content_type: "text/plain".into(),
                min_length: 0,
                max_length: 10,
            },
            300,
        )
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let field = |name: &str| {
        post.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    assert!(
        field("x-amz-security-token").as_deref() == Some(SESSION_TOKEN),
        "the form does not carry the session token as configured"
    );
    assert_scope(&field("x-amz-credential").unwrap_or_default());
    let policy = field("policy").unwrap_or_default();
    let policy = base64_simd::STANDARD.decode_to_vec(policy.as_bytes())?;
    let policy: serde_json::Value = serde_json::from_slice(&policy)?;
    let conditions = policy["conditions"].as_array().cloned().unwrap_or_default();
    assert!(
        conditions.contains(&serde_json::json!({"x-amz-security-token": SESSION_TOKEN})),
        "the policy does not bind the session token"
    );
    Ok(())
}

/// Which composed worker a test runs against.
#[derive(Debug, Clone, Copy)]
enum Flavor {
    Portable,
    FastEdge,
}

/// A composed worker of `flavor` with the write token and a reachable store.
fn worker(flavor: Flavor) -> (HttpWorker, S3Fixture) {
    let (context, s3) = common::context_with_s3();
    context.set_config("upload-token", common::WRITE_TOKEN);
    (composed(flavor, context), s3)
}

/// Links the composed worker of `flavor`, moving every setting to where
/// that flavor reads it.
fn composed(flavor: Flavor, context: HostContext) -> HttpWorker {
    let name = match flavor {
        Flavor::Portable => "worker",
        Flavor::FastEdge => {
            // FastEdge keeps settings in its app config, not wasi:config.
            for (key, value) in context.config().iter() {
                context.fastedge().set_app_config(key, value);
            }
            context.replace_config(ConfigValues::new());
            "worker-fastedge"
        }
    };
    HttpWorker::new(&common::component(name), context)
        .unwrap_or_else(|e| panic!("{name} links: {e:#}"))
}

#[tokio::test]
async fn a_url_presigned_by_the_composed_worker_uploads_into_the_store_on_both_flavors()
-> anyhow::Result<()> {
    for flavor in [Flavor::Portable, Flavor::FastEdge] {
        let (worker, s3) = worker(flavor);
        let request = http::Request::post(
            "http://localhost/objects/presigned/cat.txt/presign?content_type=text%2Fplain&content_length=4",
        )
        .header("authorization", common::WRITE_AUTHORIZATION)
        .body(Full::new(Bytes::new()))?;
        let response = worker.send(request).await?;
        assert_eq!(response.status, 200, "{flavor:?}: {}", response.text());
        let json = response.json()?;
        let url = json["url"].as_str().unwrap_or_default().to_owned();
        let headers: Vec<(String, String)> = json["headers"]
            .as_object()
            .map(|headers| {
                headers
                    .iter()
                    .map(|(name, value)| (name.clone(), value.as_str().unwrap_or_default().into()))
                    .collect()
            })
            .unwrap_or_default();
        assert!(!headers.is_empty(), "{flavor:?}: {json}");
        // A body of another length than the signed one is refused...
        assert_eq!(
            plain_put(&s3.s3, &url, &headers, b"meow!").await? / 100,
            4,
            "{flavor:?}"
        );
        assert_eq!(s3.object("presigned/cat.txt"), None, "{flavor:?}");
        // ...and the request the answer describes is stored as sent.
        assert_eq!(
            plain_put(&s3.s3, &url, &headers, b"meow").await?,
            200,
            "{flavor:?}"
        );
        assert_eq!(
            s3.object("presigned/cat.txt"),
            Some(b"meow".to_vec()),
            "{flavor:?}"
        );
    }
    Ok(())
}

/// How the store cannot be reached.
#[derive(Debug, Clone, Copy)]
enum Unreachable {
    /// Its host refuses connections (retried, as a restart would heal).
    Refused,
    /// Its name does not resolve (not retried).
    UnknownName,
}

/// A composed worker of `flavor` with the write token, whose store cannot
/// be reached, retried up to twice without backoff.
fn worker_with_an_unreachable_store(flavor: Flavor, how: Unreachable) -> HttpWorker {
    let (context, s3) = common::context_with_s3();
    // The store's folder may go: nothing reaches it.
    drop(s3);
    match how {
        Unreachable::Refused => {
            context.outbound().refuse(S3_AUTHORITY);
        }
        // No route and no network: as for a name that does not resolve.
        Unreachable::UnknownName => context.set_config("s3-endpoint", "http://nowhere.test:9000"),
    }
    context.set_config("upload-token", common::WRITE_TOKEN);
    context.set_config("s3-retry-max-attempts", "2");
    context.set_config("s3-retry-base-ms", "0");
    composed(flavor, context)
}

#[tokio::test]
async fn the_composed_worker_answers_503_unavailable_when_the_store_is_unreachable()
-> anyhow::Result<()> {
    for (how, attempts) in [(Unreachable::Refused, 2), (Unreachable::UnknownName, 1)] {
        for flavor in [Flavor::Portable, Flavor::FastEdge] {
            let case = format!("{flavor:?}, {how:?}");
            let worker = worker_with_an_unreachable_store(flavor, how);
            let request = http::Request::put("http://localhost/objects/down/x.txt")
                .header("content-length", "5")
                .header("authorization", common::WRITE_AUTHORIZATION)
                .body(Full::new(Bytes::from_static(b"hello")))?;
            let response = worker.send(request).await?;
            let text = response.text();
            for secret in [SECRET, common::WRITE_TOKEN] {
                assert!(!text.contains(secret), "{case}: a secret in the answer");
            }
            assert_eq!(response.status, 503, "{case}: {text}");
            assert_eq!(
                response.header("content-type"),
                Some("application/json"),
                "{case}"
            );
            let json = response.json()?;
            assert_eq!(json["error"]["code"], "unavailable", "{case}: {json}");
            assert!(
                json["error"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty()),
                "{case}: {json}"
            );
            // It tried as often as the failure deserves before giving up.
            let sent = worker.context().outbound().requests();
            assert_eq!(sent.len(), attempts, "{case}");
            assert!(sent.iter().all(|r| r.method == "PUT"), "{case}");
        }
    }
    Ok(())
}
