//! Serving a worker over TCP: what `cargo xtask serve` runs.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use crate::worker::{HttpWorker, TimedOut};

/// The JSON error the host answers with when the guest itself failed or
/// ran out of time.
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

async fn handle(
    worker: HttpWorker,
    request: http::Request<Incoming>,
) -> Result<http::Response<HyperOutgoingBody>, Infallible> {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = match worker.handle(request).await {
        Ok(response) => response,
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
    };
    tracing::info!(
        %method,
        %path,
        status = response.status().as_u16(),
        duration_ms = started.elapsed().as_secs_f64() * 1e3,
        "request"
    );
    Ok(response)
}

/// Serves `worker` on `listener` until the task is dropped: one fresh
/// instance per request, HTTP/1.1 and HTTP/2.
pub async fn serve(worker: HttpWorker, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let worker = worker.clone();
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(stream);
            let service =
                hyper::service::service_fn(move |request| handle(worker.clone(), request));
            let builder =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            if let Err(error) = builder.serve_connection(io, service).await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
}

/// Binds `addr` with a clear error when the port is taken.
pub async fn bind(addr: SocketAddr, what: &str) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr} for {what}: {e}"))
}
