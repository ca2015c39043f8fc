//! The uploader component alone, against the signature-verifying local S3.

mod common;

use bytes::Bytes;
use common::{ACCESS_KEY_ID, S3Fixture, SECRET};
use host_test::bindings::WitError;
use host_test::bodies::{PatternBody, pattern_sha256, sha256_hex};
use host_test::{HostContext, UploadOptions, UploaderClient};
use http_body_util::{BodyExt as _, Full};

/// A whole request body held in memory.
fn whole(
    bytes: impl Into<Bytes>,
) -> impl http_body::Body<Data = Bytes, Error = wasmtime_wasi_http::Error> + Send + 'static {
    Full::new(bytes.into()).map_err(|never| match never {})
}

fn uploader() -> (UploaderClient, HostContext, S3Fixture) {
    let (context, s3) = common::context_with_s3();
    let client =
        UploaderClient::new(&common::component("uploader"), context.clone()).expect("links");
    (client, context, s3)
}

fn sized(len: u64) -> UploadOptions {
    UploadOptions {
        content_type: Some("application/octet-stream".into()),
        content_length: Some(len),
        max_length: None,
    }
}

fn chunked(max: Option<u64>) -> UploadOptions {
    UploadOptions {
        content_type: Some("application/octet-stream".into()),
        content_length: None,
        max_length: max,
    }
}

#[tokio::test]
async fn a_signed_put_lands_byte_identical() -> anyhow::Result<()> {
    let (uploader, context, s3) = uploader();
    let body = b"hello from the edge\n".to_vec();
    let info = uploader
        .put(
            "docs/hello.txt",
            whole(body.clone()),
            sized(body.len() as u64),
        )
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    assert_eq!(info.key, "docs/hello.txt");
    assert_eq!(info.size, body.len() as u64);
    assert!(
        !info.etag.is_empty() && !info.etag.contains('"'),
        "etag {:?}",
        info.etag
    );
    assert_eq!(s3.object("docs/hello.txt"), Some(body));

    let requests = context.outbound().requests();
    assert_eq!(requests.len(), 1);
    let auth = requests[0].headers["authorization"].to_str()?;
    assert!(
        auth.starts_with(&format!("AWS4-HMAC-SHA256 Credential={ACCESS_KEY_ID}/")),
        "{auth}"
    );
    assert!(!auth.contains(SECRET));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_mebibytes_stream_through() -> anyhow::Result<()> {
    let (uploader, _context, s3) = uploader();
    let len = 50 * 1024 * 1024;
    let info = uploader
        .put("big/fifty.bin", PatternBody::new(len), sized(len))
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    assert_eq!(info.size, len);
    let stored = s3.object("big/fifty.bin").expect("the object is stored");
    assert_eq!(stored.len() as u64, len);
    assert_eq!(sha256_hex(&stored), pattern_sha256(len));
    Ok(())
}

#[tokio::test]
async fn a_wrong_secret_is_a_clean_upstream_error() -> anyhow::Result<()> {
    let (uploader, context, s3) = uploader();
    let wrong = "not-the-secret-at-all";
    context.set_config("s3-secret-access-key", wrong);
    let result = uploader.put("k.txt", whole(&b"abc"[..]), sized(3)).await?;
    match result {
        Err(WitError::Upstream(e)) => {
            assert_eq!(e.status, 403);
            assert_eq!(e.code, "SignatureDoesNotMatch");
            assert!(
                !e.message.contains(wrong) && !e.message.contains(SECRET),
                "{}",
                e.message
            );
        }
        other => panic!("expected an upstream error, got {other:?}"),
    }
    assert_eq!(s3.object("k.txt"), None);
    Ok(())
}

#[tokio::test]
async fn missing_config_is_an_internal_error_naming_the_key() -> anyhow::Result<()> {
    let (uploader, context, _s3) = uploader();
    for key in [
        "s3-endpoint",
        "s3-bucket",
        "s3-access-key-id",
        "s3-secret-access-key",
    ] {
        let (fresh, _) = common::context_with_s3();
        fresh.remove_config(key);
        let client = UploaderClient::new(&common::component("uploader"), fresh.clone())?;
        match client.put("k", whole(&b"x"[..]), sized(1)).await? {
            Err(WitError::Internal(message)) => {
                assert!(message.contains(key), "{message}");
                assert!(!message.contains(SECRET), "{message}");
            }
            other => panic!("without {key}: expected internal, got {other:?}"),
        }
        assert!(
            fresh.outbound().requests().is_empty(),
            "nothing was sent without {key}"
        );
    }
    drop((uploader, context));
    Ok(())
}

#[tokio::test]
async fn an_unreachable_store_is_unavailable() -> anyhow::Result<()> {
    let (uploader, context, _s3) = uploader();
    // No route and no network: the host answers as for a name that does not
    // resolve (`destination-not-found`).
    context.set_config("s3-endpoint", "http://nowhere.test:9000");
    match uploader.put("k", whole(&b"x"[..]), sized(1)).await? {
        Err(WitError::Unavailable(message)) => assert!(!message.is_empty()),
        other => panic!("expected unavailable, got {other:?}"),
    }
    // A name that does not resolve will not resolve on a retry either.
    assert_eq!(
        context.outbound().requests().len(),
        1,
        "an unknown host is not retried"
    );
    Ok(())
}

#[tokio::test]
async fn bad_keys_are_refused_before_any_request() -> anyhow::Result<()> {
    let (uploader, context, _s3) = uploader();
    let long = "k".repeat(1025);
    for key in [
        "",
        "/leading",
        "a/../b",
        "..",
        "a/./b",
        "ctl\u{1}char",
        "del\u{7f}",
        long.as_str(),
    ] {
        match uploader.put(key, whole(&b"x"[..]), sized(1)).await? {
            Err(WitError::InvalidInput(_)) => {}
            other => panic!("{key:?}: expected invalid-input, got {other:?}"),
        }
    }
    assert!(context.outbound().requests().is_empty());
    Ok(())
}

#[tokio::test]
async fn a_body_shorter_than_announced_is_refused() -> anyhow::Result<()> {
    let (uploader, context, s3) = uploader();
    let result = uploader
        .put("short.bin", whole(&b"0123456789"[..]), sized(20))
        .await?;
    // docs/routes.md: a body cut off before its end is `invalid_input`.
    match &result {
        Err(WitError::InvalidInput(message)) => assert!(
            message.contains("cut off") && message.contains("10 bytes arrived"),
            "{message}"
        ),
        other => panic!("a short body must be invalid-input, got {other:?}"),
    }
    assert_eq!(s3.object("short.bin"), None);
    // Nothing goes upstream: a body this small is held whole before its PUT.
    assert!(context.outbound().requests().is_empty());
    Ok(())
}

#[tokio::test]
async fn presigned_urls_carry_no_secret_and_bind_the_key() -> anyhow::Result<()> {
    let (uploader, _context, _s3) = uploader();
    let presigned = uploader
        .presign_put("uploads/photo.jpg", 600, sized(10))
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    assert_eq!(presigned.method, "PUT");
    assert_eq!(
        presigned.headers,
        [
            (
                "content-type".to_owned(),
                "application/octet-stream".to_owned()
            ),
            ("content-length".to_owned(), "10".to_owned())
        ]
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    assert!(presigned.expires_at.abs_diff(now + 600) <= 5);
    let url = presigned.url;
    assert!(
        url.starts_with("http://s3.test:9000/uploads/uploads/photo.jpg?"),
        "{url}"
    );
    assert!(url.contains("X-Amz-Signature="), "{url}");
    assert!(url.contains("X-Amz-Expires=600"), "{url}");
    assert!(!url.contains(SECRET));
    for bad in [0, 604_801] {
        assert!(matches!(
            uploader.presign_put("k", bad, sized(1)).await?,
            Err(WitError::InvalidInput(_))
        ));
    }
    Ok(())
}

const MIB: u64 = 1024 * 1024;

/// The requests sent, as `METHOD query` with the upload id replaced by
/// `{id}` when it is the one upload id all requests share.
fn multipart_steps(context: &HostContext) -> Vec<String> {
    let requests = context.outbound().requests();
    let id = requests.iter().find_map(|r| {
        r.uri
            .query()?
            .split('&')
            .find_map(|pair| pair.strip_prefix("uploadId="))
            .map(str::to_owned)
    });
    requests
        .iter()
        .map(|r| {
            let query = r.uri.query().unwrap_or("");
            let query = match &id {
                Some(id) => query.replace(id.as_str(), "{id}"),
                None => query.to_owned(),
            };
            format!("{} {query}", r.method)
        })
        .collect()
}

/// Create, parts 1 to 3 of the same upload, Complete.
const THREE_PARTS: [&str; 5] = [
    "POST uploads",
    "PUT partNumber=1&uploadId={id}",
    "PUT partNumber=2&uploadId={id}",
    "PUT partNumber=3&uploadId={id}",
    "POST uploadId={id}",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_body_goes_multipart() -> anyhow::Result<()> {
    let (uploader, context, s3) = uploader();
    let len = 20 * MIB + 12345;
    let info = uploader
        .put("mp/chunked.bin", PatternBody::new(len), chunked(None))
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    assert_eq!(info.size, len);
    assert!(info.etag.ends_with("-3"), "{}", info.etag);
    let checksum = info.checksum_sha256.clone().unwrap();
    assert!(checksum.ends_with("-3"), "{checksum}");
    let stored = s3.object("mp/chunked.bin").expect("stored");
    assert_eq!(sha256_hex(&stored), pattern_sha256(len));
    assert_eq!(multipart_steps(&context), THREE_PARTS);
    assert!(s3.s3.open_multipart_uploads().is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_large_body_goes_multipart() -> anyhow::Result<()> {
    let (uploader, context, s3) = uploader();
    let len = 17 * MIB;
    let info = uploader
        .put("mp/known.bin", PatternBody::new(len), sized(len))
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    assert_eq!(info.size, len);
    assert!(info.etag.ends_with("-3"), "{}", info.etag);
    assert_eq!(
        sha256_hex(&s3.object("mp/known.bin").unwrap()),
        pattern_sha256(len)
    );
    assert_eq!(multipart_steps(&context), THREE_PARTS);
    Ok(())
}

#[tokio::test]
async fn small_put_has_checksum() -> anyhow::Result<()> {
    let (uploader, _context, _s3) = uploader();
    let info = uploader
        .put("c.txt", whole(&b"hello"[..]), sized(5))
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    assert_eq!(
        info.checksum_sha256.as_deref(),
        Some("LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=")
    );
    Ok(())
}

#[tokio::test]
async fn empty_chunked_is_a_put() -> anyhow::Result<()> {
    let (uploader, context, s3) = uploader();
    let info = uploader
        .put("empty", whole(&b""[..]), chunked(None))
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    assert_eq!(info.size, 0);
    assert_eq!(s3.object("empty"), Some(Vec::new()));
    assert_eq!(context.outbound().requests().len(), 1);
    Ok(())
}

#[tokio::test]
async fn small_chunked() -> anyhow::Result<()> {
    let (uploader, _context, s3) = uploader();
    uploader
        .put("small", whole(&b"abc"[..]), chunked(None))
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    assert_eq!(s3.object("small"), Some(b"abc".to_vec()));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_length_mid_stream_aborts() -> anyhow::Result<()> {
    let (uploader, context, s3) = uploader();
    let result = uploader
        .put(
            "mp/big.bin",
            PatternBody::new(30 * MIB),
            chunked(Some(12 * MIB)),
        )
        .await?;
    assert!(
        matches!(result, Err(WitError::TooLarge(l)) if l == 12 * MIB),
        "{result:?}"
    );
    assert_eq!(s3.object("mp/big.bin"), None);
    assert!(s3.s3.open_multipart_uploads().is_empty());
    let methods: Vec<String> = context
        .outbound()
        .requests()
        .iter()
        .map(|r| r.method.to_string())
        .collect();
    assert_eq!(methods, ["POST", "PUT", "DELETE"]);
    Ok(())
}

#[tokio::test]
async fn key_prefix() -> anyhow::Result<()> {
    let (uploader, context, s3) = uploader();
    context.set_config("s3-key-prefix", "tenant-a/");
    let info = uploader
        .put("x.txt", whole(&b"hi"[..]), sized(2))
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    assert_eq!(info.key, "tenant-a/x.txt");
    assert_eq!(s3.object("tenant-a/x.txt"), Some(b"hi".to_vec()));
    Ok(())
}

fn faulty() -> (UploaderClient, HostContext, S3Fixture, host_test::FaultyS3) {
    let (context, s3, faulty) = common::context_with_faulty_s3();
    let client =
        UploaderClient::new(&common::component("uploader"), context.clone()).expect("links");
    (client, context, s3, faulty)
}

use host_test::{Fault, Matcher};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_heal_transient_faults() -> anyhow::Result<()> {
    let (uploader, _context, s3, faulty) = faulty();
    faulty.inject(Matcher::Part(1), Fault::slow_down(), 2);
    faulty.inject(Matcher::Part(2), Fault::DropMidBody { after: 100_000 }, 1);
    faulty.inject(Matcher::Part(3), Fault::CorruptByte { at: 5 }, 1);
    faulty.inject(Matcher::Complete, Fault::internal_error(), 1);
    let len = 20 * MIB;
    let info = uploader
        .put("heal.bin", PatternBody::new(len), chunked(None))
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    assert_eq!(faulty.fired().len(), 5);
    assert_eq!(info.size, len);
    assert_eq!(
        sha256_hex(&s3.object("heal.bin").unwrap()),
        pattern_sha256(len)
    );
    assert!(s3.s3.open_multipart_uploads().is_empty());
    Ok(())
}

#[tokio::test]
async fn single_put_corruption_is_retried() -> anyhow::Result<()> {
    let (uploader, _context, s3, faulty) = faulty();
    faulty.inject(Matcher::SinglePut, Fault::CorruptByte { at: 3 }, 1);
    let info = uploader
        .put("c.bin", whole(&b"hello world"[..]), sized(11))
        .await?;
    assert!(info.is_ok(), "{info:?}");
    assert_eq!(faulty.fired().len(), 1);
    assert_eq!(s3.object("c.bin"), Some(b"hello world".to_vec()));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_failure_aborts() -> anyhow::Result<()> {
    let (uploader, context, s3, faulty) = faulty();
    context.set_config("s3-retry-max-attempts", "3");
    context.set_config("s3-retry-base-ms", "1");
    faulty.always(Matcher::Part(2), Fault::internal_error());
    let result = uploader
        .put("fail.bin", PatternBody::new(20 * MIB), sized(20 * MIB))
        .await?;
    assert!(
        matches!(result, Err(WitError::Upstream(ref e)) if e.status == 500),
        "{result:?}"
    );
    let requests = context.outbound().requests();
    let sent: Vec<String> = requests
        .iter()
        .map(|r| format!("{} {}", r.method, r.uri.query().unwrap_or("")))
        .collect();
    let upload_id = |query: &str| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix("uploadId="))
            .map(str::to_owned)
    };
    // The failing part was tried exactly as often as configured.
    let part_two: Vec<&host_test::RecordedRequest> = requests
        .iter()
        .filter(|r| {
            r.method == "PUT"
                && r.uri
                    .query()
                    .is_some_and(|q| q.split('&').any(|p| p == "partNumber=2"))
        })
        .collect();
    assert_eq!(part_two.len(), 3, "{sent:#?}");
    assert_eq!(faulty.fired().len(), 3, "{sent:#?}");
    // Then the upload was aborted: one DELETE ?uploadId= of that upload,
    // the last request, and no Complete.
    let id = upload_id(part_two[0].uri.query().unwrap_or("")).expect("parts name their upload");
    let last = requests.last().expect("requests were sent");
    assert_eq!(last.method, "DELETE", "{sent:#?}");
    assert_eq!(
        upload_id(last.uri.query().unwrap_or("")).as_deref(),
        Some(id.as_str()),
        "{sent:#?}"
    );
    assert_eq!(last.uri.path(), "/uploads/fail.bin");
    assert_eq!(
        requests.iter().filter(|r| r.method == "DELETE").count(),
        1,
        "{sent:#?}"
    );
    assert!(
        !requests
            .iter()
            .any(|r| r.method == "POST" && r.uri.query().and_then(upload_id).is_some()),
        "nothing was completed: {sent:#?}"
    );
    assert_eq!(s3.object("fail.bin"), None);
    assert!(s3.s3.open_multipart_uploads().is_empty());
    Ok(())
}

#[tokio::test]
async fn unreachable_is_retried_then_unavailable() -> anyhow::Result<()> {
    let (uploader, context, _s3) = uploader();
    // A store that refuses connections: worth retrying, as a restart would.
    context.outbound().refuse(common::S3_AUTHORITY);
    context.set_config("s3-retry-max-attempts", "3");
    context.set_config("s3-retry-base-ms", "0");
    let result = uploader.put("k", whole(&b"x"[..]), sized(1)).await?;
    let requests = context.outbound().requests_to(common::S3_AUTHORITY);
    let sent: Vec<String> = requests
        .iter()
        .map(|r| format!("{} {}", r.method, r.uri))
        .collect();
    assert_eq!(
        sent,
        vec!["PUT http://s3.test:9000/uploads/k".to_owned(); 3],
        "the configured 3 attempts reached the store"
    );
    assert!(
        matches!(&result, Err(WitError::Unavailable(m)) if m.contains("ConnectionRefused")),
        "{result:?}"
    );
    Ok(())
}
