//! Outgoing HTTP from guests: routed in-process to fakes, or out to the
//! network, with every request recorded (head and the first bytes of the
//! body).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use crate::sync::lock;
use async_trait::async_trait;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Full};
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

/// How many bytes of each request body the log keeps unless told otherwise
/// ([`OutboundHttp::record_bodies_up_to`]): enough for any API call, small
/// enough that a test streaming a gigabyte does not keep it in memory.
pub const DEFAULT_RECORDED_BODY_BYTES: usize = 64 * 1024;

/// Handles requests a guest sends to one authority, in-process.
#[async_trait]
pub trait OutboundHandler: Send + Sync + 'static {
    /// Answers one request.
    async fn handle(
        &self,
        request: http::Request<WasiBody>,
    ) -> Result<http::Response<WasiBody>, HttpError>;
}

/// What the host saw of one outgoing request.
///
/// The body is captured as the handler (or the network) reads it, so a
/// request whose body was never read shows an empty, incomplete body.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// The request method.
    pub method: http::Method,
    /// The full URI, with scheme and authority.
    pub uri: http::Uri,
    /// The request headers, as sent.
    pub headers: http::HeaderMap,
    /// The body's first bytes: all of it, unless it is longer than the
    /// recording limit ([`OutboundHttp::record_bodies_up_to`]).
    pub body: Bytes,
    /// How many body bytes passed through, recorded or not.
    pub body_size: u64,
    /// Whether the body was read to its end.
    pub body_complete: bool,
}

impl RecordedRequest {
    /// The path and query, such as `/v1/weather?city=paris`.
    pub fn path_and_query(&self) -> &str {
        self.uri.path_and_query().map_or("/", |pq| pq.as_str())
    }

    /// The authority (`host:port` or `host`), if the URI has one.
    pub fn authority(&self) -> Option<&str> {
        self.uri.authority().map(|a| a.as_str())
    }

    /// A header's value as text, if present and valid.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The recorded body as UTF-8 text (lossy).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A request as a [`OutboundHttp::route_fn`] closure sees it: the head and
/// the whole body.
#[derive(Debug, Clone)]
pub struct OutboundRequest {
    /// The request method.
    pub method: http::Method,
    /// The full URI, with scheme and authority.
    pub uri: http::Uri,
    /// The request headers, as sent.
    pub headers: http::HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl OutboundRequest {
    /// The path without the query, such as `/v1/weather`.
    pub fn path(&self) -> &str {
        self.uri.path()
    }

    /// The query string without `?`, if any.
    pub fn query(&self) -> Option<&str> {
        self.uri.query()
    }

    /// A header's value as text, if present and valid.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as UTF-8 text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A response an in-process route answers with, built in a test:
/// `CannedResponse::new(200).header("content-type", "text/plain").body("hi")`.
///
/// A status or header that is not valid HTTP makes the guest's request fail
/// with an internal error, rather than panic the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CannedResponse {
    /// The status code.
    pub status: u16,
    /// Headers, in order; a name may repeat.
    pub headers: Vec<(String, String)>,
    /// The whole body.
    pub body: Bytes,
}

impl CannedResponse {
    /// An empty response with `status`.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// A `text/plain; charset=utf-8` response.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Self::new(status)
            .header("content-type", "text/plain; charset=utf-8")
            .body(body.into())
    }

    /// An `application/json` response.
    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Self::new(status)
            .header("content-type", "application/json")
            .body(value.to_string())
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// The response as the host hands it to the guest.
    fn into_http(self) -> Result<http::Response<WasiBody>, HttpError> {
        let invalid = |what: String| HttpError::InternalError(Some(what));
        let mut builder = http::Response::builder().status(
            http::StatusCode::from_u16(self.status)
                .map_err(|_| invalid(format!("canned status {} is not valid", self.status)))?,
        );
        for (name, value) in &self.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        builder
            .body(
                Full::new(self.body)
                    .map_err(|never| match never {})
                    .boxed_unsync(),
            )
            .map_err(|e| invalid(format!("canned response is not valid HTTP: {e}")))
    }
}

impl From<u16> for CannedResponse {
    fn from(status: u16) -> Self {
        Self::new(status)
    }
}

/// Answers every request with clones of one [`CannedResponse`].
struct Canned(CannedResponse);

#[async_trait]
impl OutboundHandler for Canned {
    async fn handle(
        &self,
        request: http::Request<WasiBody>,
    ) -> Result<http::Response<WasiBody>, HttpError> {
        // Read the body as a server would, so that it is recorded whole.
        request.into_body().collect().await?;
        self.0.clone().into_http()
    }
}

/// Answers with whatever a closure makes of the buffered request.
struct FnHandler<F>(F);

#[async_trait]
impl<F, R> OutboundHandler for FnHandler<F>
where
    F: Fn(&OutboundRequest) -> R + Send + Sync + 'static,
    R: Into<CannedResponse>,
{
    async fn handle(
        &self,
        request: http::Request<WasiBody>,
    ) -> Result<http::Response<WasiBody>, HttpError> {
        let (parts, body) = request.into_parts();
        let body = body.collect().await?.to_bytes();
        let request = OutboundRequest {
            method: parts.method,
            uri: parts.uri,
            headers: parts.headers,
            body,
        };
        (self.0)(&request).into().into_http()
    }
}

/// Fails every request as an unreachable host would.
struct Refuse;

#[async_trait]
impl OutboundHandler for Refuse {
    async fn handle(
        &self,
        _request: http::Request<WasiBody>,
    ) -> Result<http::Response<WasiBody>, HttpError> {
        Err(HttpError::ConnectionRefused)
    }
}

/// The body bytes the log has seen of one request.
#[derive(Debug, Default)]
struct Capture {
    bytes: Vec<u8>,
    size: u64,
    complete: bool,
}

/// One log entry: the head at once, the body as it streams.
#[derive(Debug, Clone)]
struct Entry {
    method: http::Method,
    uri: http::Uri,
    headers: http::HeaderMap,
    capture: Arc<Mutex<Capture>>,
}

impl Entry {
    fn snapshot(&self) -> RecordedRequest {
        let capture = lock(&self.capture);
        RecordedRequest {
            method: self.method.clone(),
            uri: self.uri.clone(),
            headers: self.headers.clone(),
            body: Bytes::copy_from_slice(&capture.bytes),
            body_size: capture.size,
            body_complete: capture.complete,
        }
    }
}

/// A request body that copies what passes through into a [`Capture`], up to
/// `limit` bytes, without holding anything back from the reader.
struct RecordingBody {
    inner: WasiBody,
    capture: Arc<Mutex<Capture>>,
    limit: usize,
}

impl Body for RecordingBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let mut capture = lock(&self.capture);
                    capture.size += data.len() as u64;
                    let room = self.limit.saturating_sub(capture.bytes.len());
                    capture
                        .bytes
                        .extend_from_slice(&data[..room.min(data.len())]);
                }
            }
            Poll::Ready(None) => lock(&self.capture).complete = true,
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

struct Routes {
    by_authority: Vec<(String, Arc<dyn OutboundHandler>)>,
    allow_network: bool,
    body_limit: usize,
}

impl Default for Routes {
    fn default() -> Self {
        Self {
            by_authority: Vec::new(),
            allow_network: false,
            body_limit: DEFAULT_RECORDED_BODY_BYTES,
        }
    }
}

/// The host's outgoing-HTTP policy: a table of in-process handlers keyed by
/// authority (`host:port`, or `host` for any port), a log of every request,
/// and whether anything else may go out to the network (off by default, so a
/// test never leaves the machine by accident: such a request fails as
/// `destination not found`). Clones share routes and log.
///
/// ```
/// use edgeplug_host::{CannedResponse, OutboundHttp};
///
/// let http = OutboundHttp::new();
/// http.respond("api.example.com", 200, r#"{"temp":21}"#);
/// http.route_fn("auth.example.com", |request| {
///     if request.header("authorization").is_some() {
///         CannedResponse::text(200, "welcome")
///     } else {
///         CannedResponse::new(401)
///     }
/// });
/// http.refuse("down.example.com");
/// assert!(http.requests().is_empty());
/// ```
#[derive(Clone, Default)]
pub struct OutboundHttp {
    routes: Arc<Mutex<Routes>>,
    log: Arc<Mutex<Vec<Entry>>>,
}

impl std::fmt::Debug for OutboundHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundHttp").finish_non_exhaustive()
    }
}

impl OutboundHttp {
    /// No routes, no network.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends requests for `authority` (`host:port`, or `host` for any port)
    /// to `handler`, replacing any handler routed there before.
    pub fn route(&self, authority: impl Into<String>, handler: Arc<dyn OutboundHandler>) -> &Self {
        let authority = authority.into();
        let mut routes = lock(&self.routes);
        routes.by_authority.retain(|(name, _)| *name != authority);
        routes.by_authority.push((authority, handler));
        self
    }

    /// Answers every request for `authority` with `status` and `body` (and
    /// no headers; use [`OutboundHttp::respond_with`] for those).
    pub fn respond(
        &self,
        authority: impl Into<String>,
        status: u16,
        body: impl Into<Bytes>,
    ) -> &Self {
        self.respond_with(authority, CannedResponse::new(status).body(body))
    }

    /// Answers every request for `authority` with `response`.
    pub fn respond_with(&self, authority: impl Into<String>, response: CannedResponse) -> &Self {
        self.route(authority, Arc::new(Canned(response)))
    }

    /// Answers requests for `authority` with whatever `handler` returns for
    /// each: a [`CannedResponse`], or a bare status (`|_| 404`). The closure
    /// sees the whole request body, and may keep state of its own (behind a
    /// `Mutex` or atomics) to answer differently over time.
    pub fn route_fn<F, R>(&self, authority: impl Into<String>, handler: F) -> &Self
    where
        F: Fn(&OutboundRequest) -> R + Send + Sync + 'static,
        R: Into<CannedResponse>,
    {
        self.route(authority, Arc::new(FnHandler(handler)))
    }

    /// Fails every request for `authority` as a host that refuses
    /// connections would: the guest sees `connection-refused`.
    pub fn refuse(&self, authority: impl Into<String>) -> &Self {
        self.route(authority, Arc::new(Refuse))
    }

    /// Removes the route for `authority`, if any.
    pub fn unroute(&self, authority: &str) -> &Self {
        lock(&self.routes)
            .by_authority
            .retain(|(name, _)| name != authority);
        self
    }

    /// Lets requests that match no route go out to the network.
    pub fn allow_network(&self, allow: bool) -> &Self {
        lock(&self.routes).allow_network = allow;
        self
    }

    /// Keeps at most `bytes` of each request body in the log, for requests
    /// sent from now on ([`DEFAULT_RECORDED_BODY_BYTES`] unless set).
    pub fn record_bodies_up_to(&self, bytes: usize) -> &Self {
        lock(&self.routes).body_limit = bytes;
        self
    }

    /// Every request guests sent so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.log).iter().map(Entry::snapshot).collect()
    }

    /// The requests sent to `authority` (`host:port`, or `host` for any
    /// port), oldest first.
    pub fn requests_to(&self, authority: &str) -> Vec<RecordedRequest> {
        lock(&self.log)
            .iter()
            .filter(|entry| matches_authority(authority, &entry.uri))
            .map(Entry::snapshot)
            .collect()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.log).clear();
    }

    fn handler_for(&self, uri: &http::Uri) -> Option<Arc<dyn OutboundHandler>> {
        let routes = lock(&self.routes);
        routes
            .by_authority
            .iter()
            .find(|(name, _)| matches_authority(name, uri))
            .map(|(_, handler)| Arc::clone(handler))
    }

    /// Logs `request` and returns it with a body that records itself.
    fn record(&self, request: http::Request<WasiBody>) -> http::Request<WasiBody> {
        let capture = Arc::new(Mutex::new(Capture::default()));
        lock(&self.log).push(Entry {
            method: request.method().clone(),
            uri: request.uri().clone(),
            headers: request.headers().clone(),
            capture: Arc::clone(&capture),
        });
        let limit = lock(&self.routes).body_limit;
        request.map(|inner| {
            RecordingBody {
                inner,
                capture,
                limit,
            }
            .boxed_unsync()
        })
    }
}

/// Whether a route or filter for `authority` covers `uri`: the exact
/// `host:port`, or the host alone for any port.
fn matches_authority(authority: &str, uri: &http::Uri) -> bool {
    uri.authority()
        .is_some_and(|a| a.as_str() == authority || a.host() == authority)
}

/// How many 1 MiB chunks of a guest's outgoing body the host buffers (see
/// [`WasiHttpHooks::p2_outgoing_body_buffer_chunks`]); the channel holds
/// one more.
const OUTGOING_BODY_BUFFER_CHUNKS: usize = 7;

type IoFuture = Box<dyn Future<Output = Result<(), HttpError>> + Send>;
type SendFuture =
    Box<dyn Future<Output = Result<(http::Response<WasiBody>, IoFuture), HttpError>> + Send>;

impl WasiHttpHooks for OutboundHttp {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: IoFuture,
    ) -> SendFuture {
        let request = self.record(request);
        let done: IoFuture = Box::new(async { Ok(()) });
        if let Some(handler) = self.handler_for(request.uri()) {
            return Box::new(async move { Ok((handler.handle(request).await?, done)) });
        }
        if !lock(&self.routes).allow_network {
            return Box::new(async { Err(HttpError::DestinationNotFound) });
        }
        Box::new(async move {
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            let io: IoFuture = Box::new(io);
            Ok((response.map(BodyExt::boxed_unsync), io))
        })
    }

    /// Up to 8 MiB of a body the guest writes (a request's or a response's)
    /// waits in the host, in 1 MiB chunks, before the guest has to wait for
    /// the network: the uploader's default part goes out whole, and the
    /// guest reads and hashes the next part while the store takes it.
    /// wasmtime-wasi-http's default is one chunk.
    fn p2_outgoing_body_buffer_chunks(&mut self) -> usize {
        OUTGOING_BODY_BUFFER_CHUNKS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(uri: &str, body: &'static [u8]) -> http::Request<WasiBody> {
        http::Request::builder()
            .method("POST")
            .uri(uri)
            .body(
                Full::new(Bytes::from_static(body))
                    .map_err(|never| match never {})
                    .boxed_unsync(),
            )
            .expect("a valid request")
    }

    async fn send(
        http: &mut OutboundHttp,
        request: http::Request<WasiBody>,
    ) -> Result<(u16, Bytes), HttpError> {
        let done: IoFuture = Box::new(async { Ok(()) });
        let (response, _io) = Pin::from(http.send_request(request, None, done)).await?;
        let status = response.status().as_u16();
        Ok((status, response.into_body().collect().await?.to_bytes()))
    }

    #[tokio::test]
    async fn canned_routes_answer_and_record_the_body() {
        let mut http = OutboundHttp::new();
        http.respond("api.test", 201, "made");
        let (status, body) = send(&mut http, request("http://api.test:8080/x?y=1", b"hello"))
            .await
            .expect("routed");
        assert_eq!((status, &body[..]), (201, &b"made"[..]));
        let recorded = http.requests_to("api.test");
        assert_eq!(recorded.len(), 1);
        assert_eq!(recorded[0].path_and_query(), "/x?y=1");
        assert_eq!(recorded[0].body_text(), "hello");
        assert!(recorded[0].body_complete);
        assert!(http.requests_to("other.test").is_empty());
    }

    #[tokio::test]
    async fn closures_see_the_whole_request() {
        let mut http = OutboundHttp::new();
        http.route_fn("echo.test:1", |request: &OutboundRequest| {
            CannedResponse::text(200, format!("{} {}", request.path(), request.text()))
        });
        let (status, body) = send(&mut http, request("http://echo.test:1/a", b"b"))
            .await
            .expect("routed");
        assert_eq!((status, &body[..]), (200, &b"/a b"[..]));
        // A route for one port does not catch another.
        let error = send(&mut http, request("http://echo.test:2/a", b""))
            .await
            .expect_err("no route");
        assert!(matches!(error, HttpError::DestinationNotFound), "{error:?}");
    }

    #[tokio::test]
    async fn recorded_bodies_stop_at_the_limit_but_count_every_byte() {
        let mut http = OutboundHttp::new();
        http.record_bodies_up_to(3).respond("api.test", 200, "");
        send(&mut http, request("http://api.test/", b"abcdef"))
            .await
            .expect("routed");
        let recorded = &http.requests()[0];
        assert_eq!((&recorded.body[..], recorded.body_size), (&b"abc"[..], 6));
    }

    #[tokio::test]
    async fn refused_and_invalid_canned_answers_fail_the_request() {
        let mut http = OutboundHttp::new();
        http.refuse("down.test");
        http.respond_with("bad.test", CannedResponse::new(20));
        let refused = send(&mut http, request("http://down.test/", b""))
            .await
            .expect_err("refused");
        assert!(
            matches!(refused, HttpError::ConnectionRefused),
            "{refused:?}"
        );
        let invalid = send(&mut http, request("http://bad.test/", b""))
            .await
            .expect_err("invalid status");
        assert!(
            matches!(invalid, HttpError::InternalError(_)),
            "{invalid:?}"
        );
        assert_eq!(http.requests().len(), 2);
        http.unroute("down.test");
        assert!(
            send(&mut http, request("http://down.test/", b""))
                .await
                .is_err()
        );
    }
}
