//! A Redis REST gateway over the host's KV backends: the central store that
//! global counters talk to, with no SaaS needed.
//!
//! [`KvGateway`] speaks the subset of the Upstash Redis REST protocol that
//! `components/redis-rest-kv` uses (and that a hosted Upstash database
//! answers too): a command as a JSON array on `POST /`, a batch on
//! `POST /pipeline`, the path form `/set/{key}` with the request body as
//! the value, `Authorization: Bearer <token>`, and
//! `Upstash-Encoding: base64` for results that carry any bytes. Commands:
//! `PING`, `GET`, `SET`, `DEL`, `EXISTS`, `INCR`, `INCRBY` (0 or more) and
//! `SCAN` with a `prefix*` match.
//!
//! The gateway keeps no state of its own: every key lives in one bucket of
//! its [`KvBackend`]. On [`RedisKv`](crate::kv::RedisKv), several gateways
//! and several hosts share one count, and Redis's `INCRBY` is what makes
//! increments atomic across them.

mod command;
mod execute;
mod reply;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use wasmtime_wasi_http::{Error as HttpError, WasiBody};

pub use command::{BadCommand, Command};
pub use reply::{Encoding, Reply};

use crate::accept::accept_until;
use crate::kv::{KvBackend, KvError};
use crate::outbound::OutboundHandler;

/// The bucket of the backend that holds every key the gateway serves.
pub const GATEWAY_BUCKET: &str = "global";

/// The largest request body the gateway reads (a value of `SET`, or a
/// pipeline); more is refused with 413, never cut short.
pub const MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;

/// The Redis REST gateway. Cheap to clone; clones share the backend and
/// the request count.
#[derive(Clone)]
pub struct KvGateway {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Arc<dyn KvBackend>,
    /// SHA-256 of the token: compared in constant time, and never kept
    /// where a `Debug` could print it.
    token_digest: [u8; 32],
    requests: AtomicU64,
}

impl std::fmt::Debug for KvGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvGateway")
            .field("requests", &self.requests_served())
            .finish_non_exhaustive()
    }
}

/// Why a [`KvGateway`] cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// Without a token anyone could write: the gateway fails closed.
    #[error("the KV gateway needs a non-empty bearer token")]
    NoToken,
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr} for the KV gateway: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
}

impl KvGateway {
    /// A gateway serving `backend` to clients that send `token`.
    pub fn new(backend: Arc<dyn KvBackend>, token: &str) -> Result<Self, GatewayError> {
        if token.trim().is_empty() {
            return Err(GatewayError::NoToken);
        }
        Ok(Self {
            inner: Arc::new(Inner {
                backend,
                token_digest: Sha256::digest(token.as_bytes()).into(),
                requests: AtomicU64::new(0),
            }),
        })
    }

    /// How many authorized requests the gateway has answered: for a bench
    /// to count round trips per worker request.
    pub fn requests_served(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    /// The backend behind the gateway.
    pub fn backend(&self) -> &Arc<dyn KvBackend> {
        &self.inner.backend
    }

    fn authorized<B>(&self, request: &http::Request<B>) -> bool {
        let Some(token) = request
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
        else {
            return false;
        };
        let digest: [u8; 32] = Sha256::digest(token.trim().as_bytes()).into();
        // Equal-length digests, compared without an early exit.
        digest
            .iter()
            .zip(self.inner.token_digest.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }

    /// Answers one REST request.
    pub async fn handle<B>(&self, request: http::Request<B>) -> http::Response<Bytes>
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        if !self.authorized(&request) {
            return answer(
                http::StatusCode::UNAUTHORIZED,
                json!({"error": "Unauthorized"}),
            );
        }
        if !matches!(*request.method(), http::Method::POST | http::Method::GET) {
            return error(
                http::StatusCode::METHOD_NOT_ALLOWED,
                "ERR use POST (or GET for the path form)",
            );
        }
        let encoding = match request.headers().get("upstash-encoding") {
            Some(value) if value.as_bytes().eq_ignore_ascii_case(b"base64") => Encoding::Base64,
            _ => Encoding::Text,
        };
        let path = request.uri().path().to_owned();
        let body = match Limited::new(request.into_body(), MAX_REQUEST_BYTES)
            .collect()
            .await
        {
            Ok(body) => body.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                return error(
                    http::StatusCode::PAYLOAD_TOO_LARGE,
                    &format!("ERR the request body is over {MAX_REQUEST_BYTES} bytes"),
                );
            }
            Err(e) => {
                return error(
                    http::StatusCode::BAD_REQUEST,
                    &format!("ERR the request body could not be read: {e}"),
                );
            }
        };
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
        match path.as_str() {
            "/" | "" => match command::from_json(&body) {
                Ok(command) => self.run_one(command, encoding).await,
                Err(bad) => error(http::StatusCode::BAD_REQUEST, &bad.to_string()),
            },
            "/pipeline" => match command::pipeline_from_json(&body) {
                Ok(commands) => {
                    let mut results = Vec::with_capacity(commands.len());
                    for command in commands {
                        results.push(match command {
                            Ok(command) => match self.run(command, encoding).await {
                                Ok(result) => json!({ "result": result }),
                                Err((_, message)) => json!({ "error": message }),
                            },
                            Err(bad) => json!({ "error": bad.to_string() }),
                        });
                    }
                    answer(http::StatusCode::OK, Value::Array(results))
                }
                Err(bad) => error(http::StatusCode::BAD_REQUEST, &bad.to_string()),
            },
            path => match command::from_path(path, &body) {
                Ok(command) => self.run_one(command, encoding).await,
                Err(bad) => error(http::StatusCode::BAD_REQUEST, &bad.to_string()),
            },
        }
    }

    async fn run_one(&self, command: Command, encoding: Encoding) -> http::Response<Bytes> {
        match self.run(command, encoding).await {
            Ok(result) => answer(http::StatusCode::OK, json!({ "result": result })),
            Err((status, message)) => error(status, &message),
        }
    }

    async fn run(
        &self,
        command: Command,
        encoding: Encoding,
    ) -> Result<Value, (http::StatusCode, String)> {
        let reply = execute::execute(self.inner.backend.as_ref(), GATEWAY_BUCKET, command)
            .await
            .map_err(|e| match e {
                // The store itself failing (Redis down): the client may retry.
                KvError::Other(message) if message.starts_with("redis:") => (
                    http::StatusCode::SERVICE_UNAVAILABLE,
                    format!("ERR the store is unavailable: {message}"),
                ),
                other => (http::StatusCode::BAD_REQUEST, format!("ERR {other}")),
            })?;
        reply
            .to_json(encoding)
            .map_err(|message| (http::StatusCode::BAD_REQUEST, message))
    }

    /// Serves on `listener` until `shutdown` completes. HTTP/1.1 and HTTP/2.
    pub async fn run_server(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()>,
    ) {
        let builder =
            hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
        accept_until(&listener, shutdown, |stream| {
            let gateway = self.clone();
            let service = hyper::service::service_fn(move |request| {
                let gateway = gateway.clone();
                async move {
                    let response = gateway.handle(request).await;
                    Ok::<_, Infallible>(response.map(Full::new))
                }
            });
            let connection = builder
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .into_owned();
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::debug!(%error, "gateway connection ended with an error");
                }
            });
        })
        .await;
    }

    /// Binds `addr` and serves there in a background task until the
    /// runtime ends; returns the bound address (`addr` may have port 0).
    pub async fn spawn_server(&self, addr: SocketAddr) -> Result<SocketAddr, GatewayError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| GatewayError::Bind { addr, source })?;
        let bound = listener
            .local_addr()
            .map_err(|source| GatewayError::Bind { addr, source })?;
        tokio::spawn(self.clone().run_server(listener, std::future::pending()));
        Ok(bound)
    }
}

/// Routes a worker's outgoing requests to the gateway in-process.
#[async_trait]
impl OutboundHandler for KvGateway {
    async fn handle(
        &self,
        request: http::Request<WasiBody>,
    ) -> Result<http::Response<WasiBody>, HttpError> {
        let response = KvGateway::handle(self, request).await;
        Ok(response.map(|body| {
            Full::new(body)
                .map_err(|never| match never {})
                .boxed_unsync()
        }))
    }
}

fn answer(status: http::StatusCode, body: Value) -> http::Response<Bytes> {
    let mut response = http::Response::new(Bytes::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

fn error(status: http::StatusCode, message: &str) -> http::Response<Bytes> {
    answer(status, json!({ "error": message }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::MemoryKv;

    fn gateway() -> KvGateway {
        KvGateway::new(Arc::new(MemoryKv::new()), "s3cret-gw").unwrap()
    }

    fn request(path: &str, token: Option<&str>, body: &[u8]) -> http::Request<Full<Bytes>> {
        let mut builder = http::Request::post(path);
        if let Some(token) = token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        builder
            .header("upstash-encoding", "base64")
            .body(Full::new(Bytes::copy_from_slice(body)))
            .unwrap()
    }

    fn json_of(response: &http::Response<Bytes>) -> Value {
        serde_json::from_slice(response.body()).unwrap()
    }

    #[tokio::test]
    async fn a_wrong_or_missing_token_is_401_and_writes_nothing() {
        let gateway = gateway();
        for token in [None, Some("wrong"), Some("")] {
            let response = gateway
                .handle(request("/", token, br#"["INCRBY","k","5"]"#))
                .await;
            assert_eq!(response.status(), 401);
            assert_eq!(json_of(&response), json!({"error": "Unauthorized"}));
        }
        assert_eq!(gateway.backend().get(GATEWAY_BUCKET, "k").await, Ok(None));
        assert_eq!(gateway.requests_served(), 0);
        assert!(KvGateway::new(Arc::new(MemoryKv::new()), " ").is_err());
        assert!(!format!("{gateway:?}").contains("s3cret"));
    }

    #[tokio::test]
    async fn binary_values_round_trip_byte_for_byte() {
        let gateway = gateway();
        let value: Vec<u8> = (0..=255).rev().collect();
        let set = gateway
            .handle(request("/set/app%3Ab%3Ak", Some("s3cret-gw"), &value))
            .await;
        assert_eq!(set.status(), 200);
        assert_eq!(json_of(&set), json!({"result": "T0s="}));
        let get = gateway
            .handle(request("/", Some("s3cret-gw"), br#"["GET","app:b:k"]"#))
            .await;
        let encoded = json_of(&get)["result"].as_str().unwrap().to_owned();
        assert_eq!(base64_simd::STANDARD.decode_to_vec(encoded).unwrap(), value);
    }

    #[tokio::test]
    async fn malformed_commands_are_400_with_a_json_error() {
        let gateway = gateway();
        let response = gateway
            .handle(request("/", Some("s3cret-gw"), b"[\"GET\""))
            .await;
        assert_eq!(response.status(), 400);
        let message = json_of(&response)["error"].as_str().unwrap().to_owned();
        assert!(message.starts_with("ERR "), "{message}");
    }

    #[tokio::test]
    async fn a_pipeline_answers_each_command_in_order() {
        let gateway = gateway();
        let response = gateway
            .handle(request(
                "/pipeline",
                Some("s3cret-gw"),
                br#"[["INCRBY","c","2"],["BOGUS"],["INCR","c"]]"#,
            ))
            .await;
        assert_eq!(response.status(), 200);
        let results = json_of(&response);
        assert_eq!(results[0], json!({"result": 2}));
        assert!(results[1]["error"].as_str().unwrap().contains("bogus"));
        assert_eq!(results[2], json!({"result": 3}));
    }
}
