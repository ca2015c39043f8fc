//! Upload throughput: through the composed worker into a local S3 that
//! checks every signature, against the host writing into the same store.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use host_test::bodies::PatternBody;
use host_test::{HostContext, HttpWorker, LocalS3, OutboundHandler, S3Credentials};
use http_body_util::BodyExt;

use crate::scratch_dir;

const BUCKET: &str = "bench";
const S3_AUTHORITY: &str = "s3.bench:9000";

/// Uploads `len` bytes through the worker at `worker_wasm`: the time taken,
/// then the guest's peak memory (largest linear memory, all memories).
pub async fn through_worker(
    worker_wasm: &Path,
    len: u64,
) -> anyhow::Result<(Duration, usize, usize)> {
    let dir = scratch_dir("worker")?;
    let credentials = S3Credentials {
        access_key_id: "AKIDBENCH".into(),
        secret_access_key: "bench-secret-not-shown".into(),
    };
    let s3 = LocalS3::new(&dir, &credentials)?;
    s3.create_bucket(BUCKET)?;
    let context = HostContext::new().with_inherited_stdio(false);
    context.outbound().route(S3_AUTHORITY, Arc::new(s3.clone()));
    context.set_config("s3-endpoint", format!("http://{S3_AUTHORITY}"));
    context.set_config("s3-bucket", BUCKET);
    context.set_config("s3-access-key-id", credentials.access_key_id.as_str());
    context.set_config(
        "s3-secret-access-key",
        credentials.secret_access_key.as_str(),
    );
    // The bench measures the upload path, not the token check.
    context.set_config("allow-anonymous-uploads", "true");
    let worker = HttpWorker::new(&host_test::load_component(worker_wasm)?, context.clone())?;
    let request = http::Request::put("http://localhost/objects/bench.bin")
        .header("content-length", len)
        .body(PatternBody::new(len))?;
    let started = Instant::now();
    let response = worker.send(request).await?;
    let elapsed = started.elapsed();
    anyhow::ensure!(
        response.status == 201,
        "upload answered {}: {}",
        response.status,
        response.text()
    );
    let stored = std::fs::metadata(s3.object_path(BUCKET, "bench.bin"))?.len();
    anyhow::ensure!(stored == len, "stored {stored} bytes of {len}");
    let peak = context.peak_memory();
    let figures = (elapsed, peak.largest_memory(), peak.instance_total());
    let _ = std::fs::remove_dir_all(&dir);
    Ok(figures)
}

/// Writes `len` bytes straight into the same kind of store, no Wasm and no
/// signing: the baseline.
pub async fn direct(len: u64) -> anyhow::Result<Duration> {
    let dir = scratch_dir("direct")?;
    let s3 = LocalS3::without_auth(&dir)?;
    s3.create_bucket(BUCKET)?;
    let request = http::Request::put(format!("http://{S3_AUTHORITY}/{BUCKET}/direct.bin"))
        .header("content-length", len)
        .body(PatternBody::new(len).boxed_unsync())?;
    let started = Instant::now();
    let response = s3
        .handle(request)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let status = response.status();
    response
        .into_body()
        .collect()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let elapsed = started.elapsed();
    anyhow::ensure!(status.is_success(), "direct write answered {status}");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(elapsed)
}

/// Uploads `len` bytes with the uploader's own logic compiled for the host:
/// the same plan, part size, SigV4 signing and checksums, into the same
/// kind of store through the same in-process handler as
/// [`through_worker`], with no Wasm in between. What the worker's time adds
/// to this one is what running the uploader as a component costs.
pub async fn native(len: u64) -> anyhow::Result<Duration> {
    let dir = scratch_dir("native")?;
    let credentials = S3Credentials {
        access_key_id: "AKIDBENCH".into(),
        secret_access_key: "bench-secret-not-shown".into(),
    };
    let s3 = LocalS3::new(&dir, &credentials)?;
    s3.create_bucket(BUCKET)?;
    let settings = [
        ("s3-endpoint", format!("http://{S3_AUTHORITY}")),
        ("s3-bucket", BUCKET.to_owned()),
        ("s3-access-key-id", credentials.access_key_id.clone()),
        (
            "s3-secret-access-key",
            credentials.secret_access_key.clone(),
        ),
    ];
    let config = uploader::config::Config::from_lookup(|key| {
        Ok(settings
            .iter()
            .find(|(name, _)| *name == key)
            .map(|(_, value)| value.clone()))
    })
    .map_err(|e| anyhow::anyhow!("uploader config: {e}"))?;
    let mut store = NativeStore {
        s3: s3.clone(),
        runtime: tokio::runtime::Handle::current(),
        started: Instant::now(),
    };
    let started = Instant::now();
    // The uploader's logic is blocking, as in the guest: it gets a thread
    // of its own and blocks on the store's answers.
    let stored = tokio::task::spawn_blocking(move || {
        let input = uploader::request::PutInput::check(
            "bench.bin",
            None,
            Some(len),
            Some(MAX_UPLOAD_BYTES),
        )?;
        let key = config.object_key("bench.bin")?;
        let mut body = PatternSource { offset: 0, len };
        uploader::upload::put(&mut store, &mut body, &config, &input, &key)
    })
    .await?
    .map_err(|e| anyhow::anyhow!("native upload: {e}"))?;
    let elapsed = started.elapsed();
    anyhow::ensure!(stored.size == len, "stored {} bytes of {len}", stored.size);
    let on_disk = std::fs::metadata(s3.object_path(BUCKET, "bench.bin"))?.len();
    anyhow::ensure!(on_disk == len, "stored {on_disk} bytes of {len}");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(elapsed)
}

/// The entry's default `max-upload-bytes`, which it hands the uploader.
const MAX_UPLOAD_BYTES: u64 = 5 * 1024 * 1024 * 1024;

/// The uploader's [`Store`](uploader::upload::Store) over the local S3's
/// in-process handler, blocking on each answer as the guest does.
struct NativeStore {
    s3: LocalS3,
    runtime: tokio::runtime::Handle,
    started: Instant,
}

/// The store's answer: status, headers and body, or why there was none.
type Answer = Result<(http::response::Parts, bytes::Bytes), uploader::upload::Fault>;

impl uploader::upload::Store for NativeStore {
    // Handled on the runtime while the uploader reads the next part, as
    // the host sends a guest's request while the guest goes on.
    type InFlight = tokio::task::JoinHandle<Answer>;

    fn start(
        &mut self,
        request: &uploader::request::SignedRequest,
        body: &[u8],
    ) -> Result<Self::InFlight, uploader::upload::Fault> {
        use uploader::request::Method;
        let fault = |message: String| uploader::upload::Fault {
            retryable: false,
            message,
        };
        let method = match request.method {
            Method::Put => http::Method::PUT,
            Method::Post => http::Method::POST,
            Method::Delete => http::Method::DELETE,
            Method::Head => http::Method::HEAD,
        };
        let mut builder = http::Request::builder().method(method).uri(format!(
            "http://{}{}",
            request.url.authority, request.path_with_query
        ));
        // Signed, but left to the HTTP client to send, as wasi:http does.
        builder = builder.header(http::header::HOST, &request.url.authority);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        // Copied out, as the guest's bytes are copied out of its memory, and
        // handed on in frames of at most 1 MiB, as the host hands on what a
        // guest writes (one frame per write of up to its 1 MiB chunk size).
        let body = Frames(bytes::Bytes::copy_from_slice(body))
            .map_err(|never| match never {})
            .boxed_unsync();
        let request = builder
            .body(body)
            .map_err(|e| fault(format!("building the request: {e}")))?;
        let s3 = self.s3.clone();
        Ok(self.runtime.spawn(async move {
            let response = s3
                .handle(request)
                .await
                .map_err(|e| fault(format!("the store failed: {e}")))?;
            let (parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| fault(format!("reading the answer: {e}")))?
                .to_bytes();
            Ok::<_, uploader::upload::Fault>((parts, body))
        }))
    }

    fn finish(
        &mut self,
        in_flight: Self::InFlight,
    ) -> Result<uploader::upload::Response, uploader::upload::Fault> {
        let (parts, body) =
            self.runtime
                .block_on(in_flight)
                .map_err(|e| uploader::upload::Fault {
                    retryable: false,
                    message: format!("the store's task failed: {e}"),
                })??;
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        Ok(uploader::upload::Response {
            status: parts.status.as_u16(),
            etag: header("etag"),
            checksum_sha256: header("x-amz-checksum-sha256"),
            content_length: header("content-length").and_then(|v| v.parse().ok()),
            body: body.to_vec(),
        })
    }

    fn now_ms(&mut self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn sleep_ms(&mut self, ms: u64) {
        std::thread::sleep(Duration::from_millis(ms));
    }

    fn random(&mut self) -> u64 {
        // Only retry jitter uses it, and a bench run retries nothing.
        0x9e37_79b9_7f4a_7c15
    }

    fn wall_time(&mut self) -> std::time::SystemTime {
        std::time::SystemTime::now()
    }
}

/// A body handed on in frames of at most [`FRAME_BYTES`].
struct Frames(bytes::Bytes);

/// wasmtime-wasi-http's outgoing-body chunk size: the most one frame of a
/// guest's body holds.
const FRAME_BYTES: usize = 1024 * 1024;

impl http_body::Body for Frames {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        if self.0.is_empty() {
            return std::task::Poll::Ready(None);
        }
        let n = self.0.len().min(FRAME_BYTES);
        let frame = self.0.split_to(n);
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(frame))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.0.len() as u64)
    }
}

/// The same bytes as [`PatternBody`], read the way the uploader reads a
/// request body.
struct PatternSource {
    offset: u64,
    len: u64,
}

impl uploader::transfer::Source for PatternSource {
    fn read(&mut self, max: u64) -> Result<Vec<u8>, uploader::transfer::StreamFault> {
        if self.offset >= self.len {
            return Err(uploader::transfer::StreamFault::Closed);
        }
        let want = usize::try_from(max.min(self.len - self.offset)).unwrap_or(usize::MAX);
        let chunk = host_test::bodies::pattern_chunk(self.offset, want);
        self.offset += chunk.len() as u64;
        Ok(chunk.to_vec())
    }
}
