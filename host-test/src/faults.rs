//! Injectable S3 faults: a layer in front of any outbound handler (usually
//! the [`LocalS3`](crate::LocalS3)) that fails chosen requests the way real
//! storage and networks do, so every retry and abort path can be tested.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use wasmtime_wasi_http::{Error as HttpError, WasiBody};

use crate::call_log::lock;
use edgeplug_host::OutboundHandler;

/// What happens to a request that a rule matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and an S3 error document (`code`), without
    /// reading the body: what S3 does for `SlowDown` (503) or an internal
    /// error (500).
    Status {
        /// The HTTP status.
        status: u16,
        /// The S3 error code, such as `SlowDown` or `InternalError`.
        code: String,
    },
    /// Wait this long before passing the request on.
    Stall(Duration),
    /// Read this many body bytes, then drop the connection.
    DropMidBody {
        /// How many bytes get through first.
        after: u64,
    },
    /// Flip the bits of the body byte at this offset on its way to the store.
    CorruptByte {
        /// The offset of the byte.
        at: u64,
    },
    /// Pass the request on and let the store do it, then drop the
    /// connection before its answer arrives: the client cannot tell whether
    /// the request took effect.
    LoseResponse,
}

impl Fault {
    /// A 503 `SlowDown`, S3's throttling answer.
    pub fn slow_down() -> Self {
        Fault::Status {
            status: 503,
            code: "SlowDown".into(),
        }
    }

    /// A 500 `InternalError`.
    pub fn internal_error() -> Self {
        Fault::Status {
            status: 500,
            code: "InternalError".into(),
        }
    }
}

/// Which requests a rule applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matcher {
    /// Every request.
    Any,
    /// The Nth request the layer sees (1-based), of any kind.
    Nth(usize),
    /// An `UploadPart` request for this part number.
    Part(u32),
    /// A single-object `PUT` (not a part).
    SinglePut,
    /// `CompleteMultipartUpload`.
    Complete,
}

impl Matcher {
    fn matches(&self, index: usize, request: &http::Request<WasiBody>) -> bool {
        let query = request.uri().query().unwrap_or_default();
        let param = |name: &str| {
            query
                .split('&')
                .find_map(|pair| pair.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
        };
        match self {
            Matcher::Any => true,
            Matcher::Nth(n) => index == *n,
            Matcher::Part(n) => {
                request.method() == http::Method::PUT
                    && param("partNumber").and_then(|v| v.parse::<u32>().ok()) == Some(*n)
            }
            Matcher::SinglePut => {
                request.method() == http::Method::PUT && param("partNumber").is_none()
            }
            Matcher::Complete => {
                request.method() == http::Method::POST && param("uploadId").is_some()
            }
        }
    }
}

#[derive(Debug)]
struct Rule {
    matcher: Matcher,
    fault: Fault,
    /// How many more times it fires; `None` for always.
    remaining: Option<u32>,
}

/// A record of one fault that fired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiredFault {
    /// The index (1-based) of the request it hit.
    pub request: usize,
    /// The request line, `METHOD path?query`.
    pub target: String,
    /// The fault.
    pub fault: Fault,
}

/// An [`OutboundHandler`] that injects [`Fault`]s in front of another one.
/// Clones share rules and counters.
#[derive(Clone)]
pub struct FaultyS3 {
    inner: Arc<dyn OutboundHandler>,
    rules: Arc<Mutex<Vec<Rule>>>,
    seen: Arc<AtomicUsize>,
    fired: Arc<Mutex<Vec<FiredFault>>>,
}

impl std::fmt::Debug for FaultyS3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultyS3").finish_non_exhaustive()
    }
}

impl FaultyS3 {
    /// A layer in front of `inner` with no rules yet.
    pub fn new(inner: Arc<dyn OutboundHandler>) -> Self {
        Self {
            inner,
            rules: Default::default(),
            seen: Default::default(),
            fired: Default::default(),
        }
    }

    /// Applies `fault` to the next `times` requests `matcher` matches.
    pub fn inject(&self, matcher: Matcher, fault: Fault, times: u32) -> &Self {
        lock(&self.rules).push(Rule {
            matcher,
            fault,
            remaining: Some(times),
        });
        self
    }

    /// Applies `fault` to every request `matcher` matches.
    pub fn always(&self, matcher: Matcher, fault: Fault) -> &Self {
        lock(&self.rules).push(Rule {
            matcher,
            fault,
            remaining: None,
        });
        self
    }

    /// Removes every rule.
    pub fn clear(&self) {
        lock(&self.rules).clear();
    }

    /// How many requests the layer has seen.
    pub fn requests_seen(&self) -> usize {
        self.seen.load(Ordering::SeqCst)
    }

    /// The faults that fired, oldest first.
    pub fn fired(&self) -> Vec<FiredFault> {
        lock(&self.fired).clone()
    }

    fn pick(&self, index: usize, request: &http::Request<WasiBody>) -> Option<Fault> {
        let mut rules = lock(&self.rules);
        let position = rules
            .iter()
            .position(|rule| rule.remaining != Some(0) && rule.matcher.matches(index, request))?;
        let rule = &mut rules[position];
        if let Some(remaining) = rule.remaining.as_mut() {
            *remaining -= 1;
        }
        let fault = rule.fault.clone();
        lock(&self.fired).push(FiredFault {
            request: index,
            target: format!(
                "{} {}",
                request.method(),
                request.uri().path_and_query().map_or("", |p| p.as_str())
            ),
            fault: fault.clone(),
        });
        Some(fault)
    }
}

fn s3_error(status: u16, code: &str) -> http::Response<WasiBody> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
         <Message>injected by the test host</Message></Error>"
    );
    let mut response = http::Response::new(
        Full::new(Bytes::from(body))
            .map_err(HttpError::from)
            .boxed_unsync(),
    );
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/xml"),
    );
    response
}

#[async_trait]
impl OutboundHandler for FaultyS3 {
    async fn handle(
        &self,
        request: http::Request<WasiBody>,
    ) -> Result<http::Response<WasiBody>, HttpError> {
        let index = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        match self.pick(index, &request) {
            None => self.inner.handle(request).await,
            Some(Fault::Status { status, code }) => Ok(s3_error(status, &code)),
            Some(Fault::Stall(duration)) => {
                tokio::time::sleep(duration).await;
                self.inner.handle(request).await
            }
            Some(Fault::DropMidBody { after }) => {
                let mut body = request.into_body();
                let mut read = 0u64;
                while read < after {
                    match body.frame().await {
                        Some(Ok(frame)) => {
                            read += frame.data_ref().map_or(0, |d| d.len() as u64);
                        }
                        _ => break,
                    }
                }
                Err(HttpError::ConnectionTerminated)
            }
            Some(Fault::LoseResponse) => {
                // The whole answer is read, so the store has finished.
                let response = self.inner.handle(request).await?;
                let _ = response.into_body().collect().await;
                Err(HttpError::ConnectionTerminated)
            }
            Some(Fault::CorruptByte { at }) => {
                let mut offset = 0u64;
                let request = request.map(|body| {
                    body.map_frame(move |frame| {
                        frame.map_data(|data: Bytes| {
                            let start = offset;
                            offset += data.len() as u64;
                            if (start..offset).contains(&at) {
                                let mut bytes = data.to_vec();
                                bytes[(at - start) as usize] ^= 0xFF;
                                Bytes::from(bytes)
                            } else {
                                data
                            }
                        })
                    })
                    .boxed_unsync()
                });
                self.inner.handle(request).await
            }
        }
    }
}
