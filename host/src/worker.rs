//! Sending HTTP requests into any component that exports
//! `wasi:http/incoming-handler`: the entry alone, or a composed worker.

use anyhow::{Context as _, anyhow};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use wasmtime::component::Component;
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use crate::context::{Instances, WorkerContext};

/// A response from a guest, with its body read whole.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: http::StatusCode,
    /// The response headers.
    pub headers: http::HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Response {
    /// The body as UTF-8 text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> anyhow::Result<serde_json::Value> {
        serde_json::from_slice(&self.body)
            .with_context(|| format!("response body is not JSON: {}", self.text()))
    }

    /// A header's value as text, if present and valid.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The error [`HttpWorker::handle`] returns when a request ran past the
/// context's request timeout; find it with `error.downcast_ref::<TimedOut>()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the worker did not answer within {0:?}")]
pub struct TimedOut(pub std::time::Duration);

/// A pre-linked HTTP component: each request gets a fresh instance, as on
/// an edge platform, made by the context `C`.
#[derive(Clone)]
pub struct HttpWorker<C: Instances = WorkerContext> {
    pre: ProxyPre<crate::state::HostState>,
    context: C,
}

impl<C: Instances> std::fmt::Debug for HttpWorker<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpWorker").finish_non_exhaustive()
    }
}

impl<C: Instances> HttpWorker<C> {
    /// Links `component` against the context's linker once.
    pub fn new(component: &Component, context: C) -> anyhow::Result<Self> {
        let linker = context.linker()?;
        let pre = linker
            .instantiate_pre(component)
            .map_err(anyhow::Error::from)
            .context("the component's imports cannot be satisfied by the host")?;
        let pre = ProxyPre::new(pre)
            .map_err(anyhow::Error::from)
            .context("the component does not export wasi:http/incoming-handler")?;
        Ok(Self { pre, context })
    }

    /// The context requests run with.
    pub fn context(&self) -> &C {
        &self.context
    }

    /// Runs one request in a fresh instance and returns the guest's response
    /// head, with a body that streams as the guest writes it.
    ///
    /// An error means the guest trapped or never answered: the host itself
    /// stays healthy.
    pub async fn handle<B>(
        &self,
        request: http::Request<B>,
    ) -> anyhow::Result<http::Response<HyperOutgoingBody>>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let Some(timeout) = self.context.request_timeout() else {
            return self.handle_untimed(request).await;
        };
        // The epoch deadline stops a guest that computes forever; this stops
        // one that waits forever on the host (a stalled upstream, say).
        match tokio::time::timeout(timeout, self.handle_untimed(request)).await {
            Ok(result) => result,
            Err(_) => Err(TimedOut(timeout).into()),
        }
    }

    async fn handle_untimed<B>(
        &self,
        request: http::Request<B>,
    ) -> anyhow::Result<http::Response<HyperOutgoingBody>>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let mut store = self.context.new_store();
        let (sender, mut receiver) = tokio::sync::oneshot::channel();
        let request = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, request)?;
        let outparam = store.data_mut().http().new_response_outparam(sender)?;
        let proxy = self.pre.instantiate_async(&mut store).await?;
        let mut call = Box::pin(async move {
            proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, request, outparam)
                .await
        });
        // Run the guest right here until it answers: no task hop on the hot
        // path, and if this future is dropped (a deadline passed) the
        // instance goes with it instead of running on.
        let (answered, still_running) = tokio::select! {
            biased;
            answered = &mut receiver => (answered, true),
            finished = &mut call => match finished {
                // Returned: it answered (or never will).
                Ok(()) => (receiver.await, false),
                Err(trap)
                    if trap.downcast_ref::<wasmtime::Trap>()
                        == Some(&wasmtime::Trap::Interrupt) =>
                {
                    let timeout = self.context.request_timeout().unwrap_or_default();
                    return Err(TimedOut(timeout).into());
                }
                Err(trap) => return Err(anyhow!("the guest trapped: {trap:?}")),
            },
        };
        match answered {
            Ok(Ok(response)) => {
                if still_running {
                    // The guest may still be writing the body: let it run on.
                    tokio::spawn(async move {
                        if let Err(trap) = call.await {
                            tracing::warn!(
                                error = %format!("{trap:?}"),
                                "the guest failed after answering"
                            );
                        }
                    });
                }
                Ok(response)
            }
            Ok(Err(code)) => Err(anyhow!("the guest answered with an error code: {code:?}")),
            Err(_) => Err(anyhow!("the guest returned without setting a response")),
        }
    }

    /// Runs one request and reads the whole response body.
    pub async fn send<B>(&self, request: http::Request<B>) -> anyhow::Result<Response>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let response = self.handle(request).await?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| anyhow!("reading the guest's response body failed: {e:?}"))?
            .to_bytes();
        Ok(Response {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    /// Sends `method path` with `body` (`path` may carry a query).
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        body: impl Into<Bytes>,
    ) -> anyhow::Result<Response> {
        let body: Bytes = body.into();
        let request = http::Request::builder()
            .method(method)
            .uri(format!("http://localhost{path}"))
            .header(http::header::CONTENT_LENGTH, body.len())
            .body(Full::new(body).map_err(wasmtime_wasi_http::Error::from))?;
        self.send(request).await
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> anyhow::Result<Response> {
        self.request("GET", path, Bytes::new()).await
    }
}
