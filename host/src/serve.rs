//! Serving a worker over TCP: what `cargo xtask serve` runs.
//!
//! [`Server`] gives every request a fresh instance, caps how many run at
//! once, answers for guests that fail or run out of time, logs one line per
//! request, and on shutdown stops accepting and lets in-flight requests
//! finish.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::Body as _;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use crate::accept::accept_until;
use crate::context::{Instances, WorkerContext};
use crate::worker::{HttpWorker, TimedOut};

/// How a [`Server`] admits requests and shuts down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeOptions {
    /// How many requests may run at once; more wait for a free slot. Keep it
    /// below the engine's pool size ([`EngineOptions::max_instances`]).
    ///
    /// [`EngineOptions::max_instances`]: crate::EngineOptions::max_instances
    pub max_concurrent_requests: usize,
    /// How long a request may wait for a slot before the host answers 503.
    pub queue_timeout: Duration,
    /// On shutdown, how long in-flight requests get to finish before their
    /// connections are dropped.
    pub drain_timeout: Duration,
}

impl Default for ServeOptions {
    /// 128 at once, a 5 s wait for a slot, 30 s to drain.
    fn default() -> Self {
        Self {
            max_concurrent_requests: 128,
            queue_timeout: Duration::from_secs(5),
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// How a [`Server`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// Every in-flight request finished.
    Drained,
    /// The drain timeout passed with connections still open.
    TimedOut {
        /// Connections open when the drain began.
        open_connections: usize,
    },
}

/// An HTTP server for one worker.
#[derive(Debug, Clone)]
pub struct Server<C: Instances = WorkerContext> {
    worker: HttpWorker<C>,
    options: ServeOptions,
    slots: Arc<Semaphore>,
}

impl<C: Instances> Server<C> {
    /// A server for `worker`.
    pub fn new(worker: HttpWorker<C>, options: ServeOptions) -> Self {
        let slots = Arc::new(Semaphore::new(options.max_concurrent_requests.max(1)));
        Self {
            worker,
            options,
            slots,
        }
    }

    /// Serves on `listener` until `shutdown` completes, then stops accepting
    /// and waits up to the drain timeout for in-flight requests (and the
    /// bodies they are still streaming) to finish. HTTP/1.1 and HTTP/2.
    pub async fn run(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Shutdown {
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let builder =
            hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
        // Shared, not cloned per request: a clone bumps every reference
        // count the worker holds, on counters both cores write.
        let server = Arc::new(self);
        accept_until(&listener, shutdown, |stream| {
            let server = Arc::clone(&server);
            let service = hyper::service::service_fn(move |request| {
                let server = Arc::clone(&server);
                async move { Ok::<_, Infallible>(server.handle(request).await) }
            });
            let connection = builder
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .into_owned();
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::debug!(%error, "connection ended with an error");
                }
            });
        })
        .await;
        drop(listener);
        let open = graceful.count();
        tracing::info!(open_connections = open, "draining in-flight requests");
        tokio::select! {
            () = graceful.shutdown() => Shutdown::Drained,
            () = tokio::time::sleep(server.options.drain_timeout) => {
                tracing::warn!("the drain timeout passed with requests unfinished");
                Shutdown::TimedOut { open_connections: open }
            }
        }
    }

    async fn handle(
        self: Arc<Self>,
        request: http::Request<Incoming>,
    ) -> http::Response<HyperOutgoingBody> {
        let started = Instant::now();
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let response = match self.admit().await {
            // A request with a body may be an upload under way. If its client
            // goes away, hyper drops this future; the guest must still run to
            // its end, so that it sees the body cut off and aborts what it
            // started (a multipart upload) instead of leaving parts behind.
            // Body-less requests keep the cheaper path: no task hop.
            Some(permit) if !request.body().is_end_stream() => {
                let server = Arc::clone(&self);
                let (task_method, task_path) = (method.clone(), path.clone());
                let guest = tokio::spawn(async move {
                    server
                        .run_guest(request, permit, &task_method, &task_path)
                        .await
                });
                guest.await.unwrap_or_else(|error| {
                    tracing::error!(%method, %path, %error, "the request's task failed");
                    host_error(
                        http::StatusCode::INTERNAL_SERVER_ERROR,
                        "internal",
                        "the worker failed to handle this request",
                    )
                })
            }
            Some(permit) => self.run_guest(request, permit, &method, &path).await,
            None => {
                tracing::warn!(%method, %path, "no free slot in time");
                let mut response = host_error(
                    http::StatusCode::SERVICE_UNAVAILABLE,
                    "overloaded",
                    "too many requests in flight; try again shortly",
                );
                response.headers_mut().insert(
                    http::header::RETRY_AFTER,
                    http::HeaderValue::from_static("1"),
                );
                response
            }
        };
        tracing::info!(
            %method,
            %path,
            status = response.status().as_u16(),
            duration_ms = %format_args!("{:.3}", started.elapsed().as_secs_f64() * 1e3),
            "request"
        );
        response
    }

    /// How many requests hold a slot right now (running, or still sending
    /// their response body): a readiness signal for tests that need a
    /// request to be in flight before they go on.
    pub fn requests_in_flight(&self) -> usize {
        self.options
            .max_concurrent_requests
            .max(1)
            .saturating_sub(self.slots.available_permits())
    }

    /// A slot for one request, or `None` if none came free in time.
    async fn admit(&self) -> Option<OwnedSemaphorePermit> {
        // A free slot needs no timer: the usual case, on every request.
        if let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() {
            return Some(permit);
        }
        let acquire = Arc::clone(&self.slots).acquire_owned();
        match tokio::time::timeout(self.options.queue_timeout, acquire).await {
            Ok(Ok(permit)) => Some(permit),
            // The semaphore is never closed; treat it like a full queue.
            Ok(Err(_)) | Err(_) => None,
        }
    }

    async fn run_guest(
        &self,
        request: http::Request<Incoming>,
        permit: OwnedSemaphorePermit,
        method: &http::Method,
        path: &str,
    ) -> http::Response<HyperOutgoingBody> {
        match self.worker.handle(request).await {
            // The instance lives until its body is written: so does the slot.
            Ok(response) => response.map(|body| {
                HoldsPermit {
                    body,
                    _permit: permit,
                }
                .boxed_unsync()
            }),
            Err(error) if error.is::<TimedOut>() => {
                tracing::warn!(%method, %path, "worker timed out");
                host_error(
                    http::StatusCode::GATEWAY_TIMEOUT,
                    "timeout",
                    &error.to_string(),
                )
            }
            Err(error) => {
                tracing::error!(%method, %path, error = %format!("{error:#}"), "worker failed");
                host_error(
                    http::StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the worker failed to handle this request",
                )
            }
        }
    }
}

/// A response body that keeps its request's concurrency slot until done.
struct HoldsPermit {
    body: HyperOutgoingBody,
    _permit: OwnedSemaphorePermit,
}

impl http_body::Body for HoldsPermit {
    type Data = Bytes;
    type Error = <HyperOutgoingBody as http_body::Body>::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// The JSON error the host answers with when the guest itself failed, ran
/// out of time, or could not be admitted.
fn host_error(
    status: http::StatusCode,
    code: &str,
    message: &str,
) -> http::Response<HyperOutgoingBody> {
    let body = serde_json::json!({"error": {"code": code, "message": message}}).to_string();
    let mut response = http::Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

/// Serves `worker` on `listener` with the default [`ServeOptions`] until the
/// task is dropped.
pub async fn serve<C: Instances>(
    worker: HttpWorker<C>,
    listener: tokio::net::TcpListener,
) -> anyhow::Result<()> {
    Server::new(worker, ServeOptions::default())
        .run(listener, std::future::pending())
        .await;
    Ok(())
}

/// Binds `addr` with a clear error when the port is taken.
pub async fn bind(addr: SocketAddr, what: &str) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr} for {what}: {e}"))
}
