//! Outgoing HTTP from guests: routed in-process to fakes, or out to the network.

use std::future::Future;
use std::sync::{Arc, Mutex};

use crate::call_log::lock;
use async_trait::async_trait;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

/// Handles requests a guest sends to one authority, in-process.
#[async_trait]
pub trait OutboundHandler: Send + Sync + 'static {
    /// Answers one request.
    async fn handle(
        &self,
        request: http::Request<WasiBody>,
    ) -> Result<http::Response<WasiBody>, HttpError>;
}

/// What the host saw of one outgoing request (the body is not kept).
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// The request method.
    pub method: http::Method,
    /// The full URI, with scheme and authority.
    pub uri: http::Uri,
    /// The request headers, as sent.
    pub headers: http::HeaderMap,
}

#[derive(Default)]
struct Routes {
    by_authority: Vec<(String, Arc<dyn OutboundHandler>)>,
    allow_network: bool,
}

/// The host's outgoing-HTTP policy: a table of in-process handlers keyed by
/// authority (`host:port`, or `host` for any port), a log of every request,
/// and whether anything else may go out to the network (off by default, so a
/// test never leaves the machine by accident). Clones share routes and log.
#[derive(Clone, Default)]
pub struct OutboundHttp {
    routes: Arc<Mutex<Routes>>,
    log: Arc<Mutex<Vec<RecordedRequest>>>,
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

    /// Lets requests that match no route go out to the network.
    pub fn allow_network(&self, allow: bool) -> &Self {
        lock(&self.routes).allow_network = allow;
        self
    }

    /// Every request guests sent so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.log).clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.log).clear();
    }

    fn handler_for(&self, uri: &http::Uri) -> Option<Arc<dyn OutboundHandler>> {
        let authority = uri.authority()?;
        let routes = lock(&self.routes);
        routes
            .by_authority
            .iter()
            .find(|(name, _)| name == authority.as_str() || name == authority.host())
            .map(|(_, handler)| Arc::clone(handler))
    }
}

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
        lock(&self.log).push(RecordedRequest {
            method: request.method().clone(),
            uri: request.uri().clone(),
            headers: request.headers().clone(),
        });
        let done: IoFuture = Box::new(async { Ok(()) });
        if let Some(handler) = self.handler_for(request.uri()) {
            return Box::new(async move { Ok((handler.handle(request).await?, done)) });
        }
        if !lock(&self.routes).allow_network {
            return Box::new(async { Err(HttpError::DestinationNotFound) });
        }
        Box::new(async move {
            use http_body_util::BodyExt;
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            let io: IoFuture = Box::new(io);
            Ok((response.map(BodyExt::boxed_unsync), io))
        })
    }
}
