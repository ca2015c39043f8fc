//! What the uploader does when the store or the client fails it at the
//! worst moment: answers lost after the store acted, a store that never
//! answers, a taken key under overwrite protection, a body cut off midway.
//! Nothing may be left half-written, and nothing may be reported wrongly.

mod common;

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use common::{ACCESS_KEY_ID, BUCKET, S3Fixture, SECRET};
use edgeplug_host::sweep::{S3Target, sweep};
use host_test::bindings::WitError;
use host_test::bodies::{PatternBody, pattern_sha256, sha256_hex};
use host_test::{Fault, FaultyS3, HostContext, HttpWorker, Matcher, UploadOptions, UploaderClient};
use http_body_util::{BodyExt as _, Full, StreamBody};

const MIB: u64 = 1024 * 1024;
/// The smallest part S3 allows; used as part size and threshold.
const PART: u64 = 5 * MIB;

/// A context with a fault layer in front of the local store, 5 MiB parts
/// and fast retries.
fn faulty_context() -> (HostContext, S3Fixture, FaultyS3) {
    let (context, s3, faults) = common::context_with_faulty_s3();
    context.set_config("s3-part-size", PART.to_string());
    context.set_config("s3-multipart-threshold", PART.to_string());
    context.set_config("s3-retry-base-ms", "1");
    context.set_config("s3-retry-max-backoff-ms", "5");
    (context, s3, faults)
}

fn uploader(context: &HostContext) -> UploaderClient {
    UploaderClient::new(&common::component("uploader"), context.clone()).expect("links")
}

/// The composed worker, uploads open without a token (this file is about
/// the store, not about auth).
fn worker(context: &HostContext) -> HttpWorker {
    context.set_config("allow-anonymous-uploads", "true");
    HttpWorker::new(&common::component("worker"), context.clone()).expect("links")
}

fn sized(len: u64) -> UploadOptions {
    UploadOptions {
        content_type: Some("application/octet-stream".into()),
        content_length: Some(len),
        max_length: None,
    }
}

fn chunked() -> UploadOptions {
    UploadOptions {
        content_type: Some("application/octet-stream".into()),
        content_length: None,
        max_length: None,
    }
}

fn whole(
    bytes: &'static [u8],
) -> impl http_body::Body<Data = Bytes, Error = wasmtime_wasi_http::Error> + Send + 'static {
    Full::new(Bytes::from_static(bytes)).map_err(|never| match never {})
}

/// The operations the uploader sent, as `METHOD query`.
fn sent(context: &HostContext) -> Vec<String> {
    context
        .outbound()
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.uri.query().unwrap_or("")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_create_response_is_not_retried_and_sweep_leaves_no_open_upload()
-> anyhow::Result<()> {
    let (context, s3, faults) = faulty_context();
    // The store opens the upload, and its answer (the upload id) is lost.
    faults.inject(Matcher::Nth(1), Fault::LoseResponse, 1);
    let result = uploader(&context)
        .put("lost/create.bin", PatternBody::new(2 * PART), chunked())
        .await?;
    assert!(
        matches!(result, Err(WitError::Unavailable(ref m)) if !m.contains(SECRET)),
        "{result:?}"
    );
    let creates = sent(&context)
        .iter()
        .filter(|r| r.starts_with("POST uploads"))
        .count();
    assert_eq!(creates, 1, "Create is sent once: {:?}", sent(&context));
    assert_eq!(s3.object("lost/create.bin"), None);
    // The one upload the store opened has an id nobody saw: sweep removes it.
    assert_eq!(s3.s3.open_multipart_uploads().len(), 1);
    let addr = s3.s3.spawn_server("127.0.0.1:0".parse()?).await?;
    let target = S3Target {
        endpoint: format!("http://{addr}"),
        bucket: BUCKET.into(),
        region: "us-east-1".into(),
        access_key_id: ACCESS_KEY_ID.into(),
        secret_access_key: SECRET.into(),
        session_token: None,
        addressing: Default::default(),
    };
    let report = sweep(&target, "", Duration::ZERO, SystemTime::now(), false).await?;
    assert_eq!(report.aborted.len(), 1, "{report:?}");
    assert!(s3.s3.open_multipart_uploads().is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_complete_response_still_answers_201_when_the_object_is_there() -> anyhow::Result<()>
{
    let (context, s3, faults) = faulty_context();
    faults.inject(Matcher::Complete, Fault::LoseResponse, 1);
    let worker = worker(&context);
    let len = 2 * PART + 777;
    let response = worker
        .send(
            http::Request::put("http://localhost/objects/lost/complete.bin")
                .header("content-length", len)
                .body(PatternBody::new(len))?,
        )
        .await?;
    assert_eq!(response.status, 201, "{}", response.text());
    assert_eq!(response.json()?["size"], len);
    assert_eq!(faults.fired().len(), 1);
    assert_eq!(
        s3.object("lost/complete.bin").map(|b| sha256_hex(&b)),
        Some(pattern_sha256(len))
    );
    // The retried Complete met the finished upload; a HEAD confirmed it.
    let requests = sent(&context);
    assert!(
        requests.iter().any(|r| r.starts_with("HEAD")),
        "{requests:?}"
    );
    assert!(s3.s3.open_multipart_uploads().is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_put_response_with_overwrite_protection_is_still_a_success() -> anyhow::Result<()> {
    let (context, s3, faults) = faulty_context();
    context.set_config("s3-refuse-overwrite", "true");
    faults.inject(Matcher::SinglePut, Fault::LoseResponse, 1);
    let info = uploader(&context)
        .put("lost/put.txt", whole(b"hello"), sized(5))
        .await?;
    assert!(info.is_ok(), "{info:?}");
    assert_eq!(s3.object("lost/put.txt").as_deref(), Some(&b"hello"[..]));
    Ok(())
}

/// A TCP server that accepts connections and never answers, holding them
/// open until the test ends.
async fn black_hole() -> anyhow::Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    Ok(addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_never_answers_gets_a_clean_503() -> anyhow::Result<()> {
    let (context, _s3, _faults) = faulty_context();
    let addr = black_hole().await?;
    context.outbound().allow_network(true);
    context.set_config("s3-endpoint", format!("http://{addr}"));
    context.set_config("s3-first-byte-timeout-ms", "300");
    context.set_config("s3-retry-max-attempts", "2");
    let worker = worker(&context);
    let response = worker
        .send(
            http::Request::put("http://localhost/objects/hang.txt")
                .header("content-length", 5)
                .body(Full::new(Bytes::from_static(b"hello")))?,
        )
        .await?;
    assert_eq!(response.status, 503, "{}", response.text());
    let json = response.json()?;
    assert_eq!(json["error"]["code"], "unavailable", "{json}");
    assert!(!response.text().contains(SECRET));
    // A timed-out answer is worth retrying: both configured attempts went.
    assert_eq!(context.outbound().requests().len(), 2);

    // The uploader alone says the same, as `unavailable`.
    let result = uploader(&context)
        .put("hang.txt", whole(b"hello"), sized(5))
        .await?;
    assert!(
        matches!(result, Err(WitError::Unavailable(_))),
        "{result:?}"
    );
    Ok(())
}

#[tokio::test]
async fn with_overwrite_protection_a_second_put_to_a_key_is_upstream_412() -> anyhow::Result<()> {
    let (context, s3, _faults) = faulty_context();
    context.set_config("s3-refuse-overwrite", "true");
    let uploader = uploader(&context);
    uploader
        .put("taken.txt", whole(b"first"), sized(5))
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    match uploader
        .put("taken.txt", whole(b"second"), sized(6))
        .await?
    {
        Err(WitError::Upstream(e)) => {
            assert_eq!((e.status, e.code.as_str()), (412, "PreconditionFailed"));
        }
        other => panic!("expected upstream 412, got {other:?}"),
    }
    assert_eq!(s3.object("taken.txt").as_deref(), Some(&b"first"[..]));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_overwrite_protection_a_multipart_upload_to_a_taken_key_is_aborted()
-> anyhow::Result<()> {
    let (context, s3, _faults) = faulty_context();
    context.set_config("s3-refuse-overwrite", "true");
    let uploader = uploader(&context);
    uploader
        .put("taken.bin", whole(b"first"), sized(5))
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let result = uploader
        .put("taken.bin", PatternBody::new(2 * PART), chunked())
        .await?;
    assert!(
        matches!(result, Err(WitError::Upstream(ref e)) if e.status == 412),
        "{result:?}"
    );
    assert_eq!(s3.object("taken.bin").as_deref(), Some(&b"first"[..]));
    assert!(s3.s3.open_multipart_uploads().is_empty());
    Ok(())
}

/// A body of `len` pattern bytes whose stream fails after `cut_at` bytes,
/// as a client that goes away mid-upload looks to the host.
fn cut_off(
    len: u64,
    cut_at: u64,
) -> impl http_body::Body<Data = Bytes, Error = wasmtime_wasi_http::Error> + Send + 'static {
    let chunk = 64 * 1024;
    let mut frames: Vec<Result<http_body::Frame<Bytes>, wasmtime_wasi_http::Error>> = Vec::new();
    let mut offset = 0;
    while offset < cut_at.min(len) {
        let n = chunk.min(cut_at - offset);
        let bytes: Vec<u8> = (offset..offset + n)
            .map(host_test::bodies::pattern_byte)
            .collect();
        frames.push(Ok(http_body::Frame::data(Bytes::from(bytes))));
        offset += n;
    }
    frames.push(Err(wasmtime_wasi_http::Error::ConnectionTerminated));
    StreamBody::new(futures::stream::iter(frames))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_cut_off_midway_leaves_no_object_and_no_open_upload() -> anyhow::Result<()> {
    let (context, s3, _faults) = faulty_context();
    let uploader = uploader(&context);
    // Cut in the second part: the upload was created and part 1 sent.
    let result = uploader
        .put("cut/chunked.bin", cut_off(3 * PART, PART + 1000), chunked())
        .await?;
    match result {
        Err(WitError::InvalidInput(m)) => assert!(m.contains("cut off"), "{m}"),
        other => panic!("expected invalid-input, got {other:?}"),
    }
    assert_eq!(s3.object("cut/chunked.bin"), None);
    assert!(s3.s3.open_multipart_uploads().is_empty());
    let requests = sent(&context);
    assert!(
        requests.iter().any(|r| r.starts_with("DELETE")),
        "{requests:?}"
    );
    assert!(
        !requests.iter().any(|r| r.starts_with("POST uploadId")),
        "never completed: {requests:?}"
    );

    // A small body cut off is never stored either.
    let result = uploader
        .put("cut/small.bin", cut_off(100, 50), sized(100))
        .await?;
    assert!(
        matches!(result, Err(WitError::InvalidInput(_))),
        "{result:?}"
    );
    assert_eq!(s3.object("cut/small.bin"), None);
    Ok(())
}
