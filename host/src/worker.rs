//! Sending HTTP requests into any component that exports
//! `wasi:http/incoming-handler`: the entry alone, or a composed worker.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Instant;

use anyhow::{Context as _, anyhow};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use wasmtime::Store;
use wasmtime::component::Component;
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::bindings::{Proxy, ProxyPre};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use crate::context::{Instances, WorkerContext};
use crate::reuse::{IdleInstances, InstanceHealth, InstanceReuse, InstanceStats};
use crate::state::HostState;

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
/// an edge platform, made by the context `C` — or, with
/// [`with_instance_reuse`](Self::with_instance_reuse), an instance that
/// answered an earlier request cleanly.
#[derive(Clone)]
pub struct HttpWorker<C: Instances = WorkerContext> {
    pre: ProxyPre<HostState>,
    context: C,
    reuse: Option<Arc<Reuse>>,
    counters: Arc<Counters>,
}

impl<C: Instances> std::fmt::Debug for HttpWorker<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpWorker")
            .field("instance_reuse", &self.instance_reuse())
            .finish_non_exhaustive()
    }
}

/// An instance between requests, and what decides whether it may take
/// another.
struct LiveInstance {
    store: Store<HostState>,
    proxy: Proxy,
    served: u32,
    memory_at_start: usize,
}

/// The reuse policy and the instances waiting under it.
struct Reuse {
    policy: InstanceReuse,
    idle: Arc<IdleInstances<LiveInstance>>,
}

impl Reuse {
    /// Keeps `live`, which just answered a request cleanly, for the next
    /// one unless a retire rule says otherwise.
    fn keep(&self, mut live: LiveInstance) {
        live.served += 1;
        let limits = live.store.data().limits();
        let health = InstanceHealth {
            refused_growth: limits.refused_growth(),
            memory_growth: limits.memory_size().saturating_sub(live.memory_at_start),
        };
        match self.policy.retire_reason(live.served, health) {
            None => self.idle.put(live),
            Some(reason) => tracing::trace!(?reason, "instance retired"),
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    started: AtomicU64,
    reused: AtomicU64,
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
        Ok(Self {
            pre,
            context,
            reuse: None,
            counters: Default::default(),
        })
    }

    /// Lets an instance answer more requests, one after another, under
    /// `reuse`'s bounds. Off by default, and only for code you trust with
    /// what it trades: a guest's own globals outlive a request (see
    /// [`InstanceReuse`]). Clones of this worker share its idle instances.
    #[must_use]
    pub fn with_instance_reuse(mut self, reuse: InstanceReuse) -> Self {
        self.reuse = reuse.enabled().then(|| {
            Arc::new(Reuse {
                policy: reuse,
                idle: Arc::new(IdleInstances::new(reuse.idle_timeout, reuse.max_idle)),
            })
        });
        self
    }

    /// The reuse policy in force ([`InstanceReuse::OFF`] unless set).
    pub fn instance_reuse(&self) -> InstanceReuse {
        self.reuse.as_ref().map_or(InstanceReuse::OFF, |r| r.policy)
    }

    /// How many instances were made and reused so far, and how many wait.
    pub fn instance_stats(&self) -> InstanceStats {
        InstanceStats {
            started: self.counters.started.load(Ordering::Relaxed),
            reused: self.counters.reused.load(Ordering::Relaxed),
            idle: self.reuse.as_ref().map_or(0, |r| r.idle.len()),
        }
    }

    /// The context requests run with.
    pub fn context(&self) -> &C {
        &self.context
    }

    /// Runs one request in an instance (a fresh one unless reuse is on and
    /// one waits) and returns the guest's response head, with a body that
    /// streams as the guest writes it.
    ///
    /// An error means the guest trapped or never answered: the host itself
    /// stays healthy, and that instance is never used again.
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

    /// An idle instance readied for a new request, or a new one.
    async fn instance(&self) -> anyhow::Result<LiveInstance> {
        if let Some(mut live) = self.reuse.as_ref().and_then(|r| r.idle.take()) {
            let deadline = self
                .context
                .request_timeout()
                .map(|timeout| Instant::now() + timeout);
            live.store.data_mut().begin_request(deadline);
            live.store.set_epoch_deadline(1);
            self.counters.reused.fetch_add(1, Ordering::Relaxed);
            return Ok(live);
        }
        let mut store = self.context.new_store();
        let proxy = self.pre.instantiate_async(&mut store).await?;
        self.counters.started.fetch_add(1, Ordering::Relaxed);
        let memory_at_start = store.data().limits().memory_size();
        Ok(LiveInstance {
            store,
            proxy,
            served: 0,
            memory_at_start,
        })
    }

    async fn handle_untimed<B>(
        &self,
        request: http::Request<B>,
    ) -> anyhow::Result<http::Response<HyperOutgoingBody>>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let mut live = self.instance().await?;
        let (sender, mut receiver) = tokio::sync::oneshot::channel();
        let state = live.store.data_mut();
        let request = state.http().new_incoming_request(Scheme::Http, request)?;
        let outparam = state.http().new_response_outparam(sender)?;
        let mut call: GuestCall = Box::pin(async move {
            live.proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut live.store, request, outparam)
                .await
                .map(|()| live)
        });
        // Run the guest right here until it answers: no task hop on the hot
        // path, and if this future is dropped (a deadline passed) the
        // instance goes with it instead of running on.
        let (answered, returned) = tokio::select! {
            biased;
            answered = &mut receiver => (answered, None),
            finished = &mut call => match finished {
                // Returned: it answered (or never will).
                Ok(live) => (receiver.await, Some(live)),
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
        let response = match answered {
            Ok(Ok(response)) => response,
            // An instance that answered with anything but a response is
            // dropped here, never reused.
            Ok(Err(code)) => {
                return Err(anyhow!("the guest answered with an error code: {code:?}"));
            }
            Err(_) => return Err(anyhow!("the guest returned without setting a response")),
        };
        if let Some(live) = returned {
            if let Some(reuse) = &self.reuse {
                reuse.keep(live);
            }
            return Ok(response);
        }
        let Some(reuse) = &self.reuse else {
            // The guest may still be writing the body: let it run on.
            tokio::spawn(async move {
                if let Err(trap) = call.await {
                    warn_failed_after_answering(&trap);
                }
            });
            return Ok(response);
        };
        // With reuse, the body drives the rest of the call itself (no task
        // per request) and ends only once the instance is back among the
        // idle ones: a client that sends its next request after reading a
        // whole response finds the instance it just used.
        let reuse = Arc::clone(reuse);
        Ok(response.map(|body| FinishesCall::new(body, call, reuse).boxed_unsync()))
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

/// A guest's `handle` call, which gives its instance back when it returns.
type GuestCall = Pin<Box<dyn Future<Output = wasmtime::Result<LiveInstance>> + Send>>;

fn warn_failed_after_answering(trap: &wasmtime::Error) {
    tracing::warn!(error = %format!("{trap:?}"), "the guest failed after answering");
}

/// A response body that runs the rest of the guest's call as it is read
/// (the guest writes what this reads), and ends only after the call has
/// returned and its instance has been kept for reuse or dropped. Dropped
/// early (the client went away), it drops the instance with the call.
struct FinishesCall {
    body: HyperOutgoingBody,
    body_ended: bool,
    call: Option<GuestCall>,
    reuse: Arc<Reuse>,
}

impl FinishesCall {
    fn new(body: HyperOutgoingBody, call: GuestCall, reuse: Arc<Reuse>) -> Self {
        Self {
            body,
            body_ended: false,
            call: Some(call),
            reuse,
        }
    }

    /// Polls the call once; when it has returned, keeps or drops its
    /// instance.
    fn poll_call(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(call) = self.call.as_mut() else {
            return Poll::Ready(());
        };
        let returned = ready!(call.as_mut().poll(cx));
        self.call = None;
        match returned {
            Ok(live) => self.reuse.keep(live),
            Err(trap) => warn_failed_after_answering(&trap),
        }
        Poll::Ready(())
    }
}

impl http_body::Body for FinishesCall {
    type Data = Bytes;
    type Error = <HyperOutgoingBody as http_body::Body>::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        // Let the guest make progress first: it may be blocked on writing
        // the very bytes the body waits for.
        let _ = this.poll_call(cx);
        if !this.body_ended {
            match ready!(Pin::new(&mut this.body).poll_frame(cx)) {
                Some(frame) => return Poll::Ready(Some(frame)),
                None => this.body_ended = true,
            }
        }
        ready!(this.poll_call(cx));
        Poll::Ready(None)
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
