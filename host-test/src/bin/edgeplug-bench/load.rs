//! The HTTP load generator: keep-alive connections over loopback, each
//! sending its next request as soon as the last answer is read.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

/// How long one request may take before it counts as an error: well past
/// anything a healthy run sees, so that a stuck server ends the bench.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What a load run measured.
#[derive(Debug, Default, Clone)]
pub struct LoadReport {
    /// How long the run lasted, from the first request to the last answer.
    pub elapsed: Duration,
    /// Answers with status 200: the only ones counted as served.
    pub ok: u64,
    /// Answers with any other status.
    pub non_200: u64,
    /// Requests that got no answer (connection refused or reset, timeout).
    pub errors: u64,
    /// The first error, to show why.
    pub first_error: Option<String>,
    /// The time of each 200 answer, sorted.
    pub latencies: Vec<Duration>,
}

impl LoadReport {
    /// 200 answers per second.
    pub fn rps(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    fn merge(&mut self, other: LoadReport) {
        self.ok += other.ok;
        self.non_200 += other.non_200;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.latencies.extend(other.latencies);
    }
}

/// Sends `GET path` to `addr` over `connections` keep-alive HTTP/1.1
/// connections for `duration`.
pub async fn run(
    addr: SocketAddr,
    path: &str,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<LoadReport> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let path = path.to_owned();
        tasks.spawn(async move { connection(addr, &path, deadline).await });
    }
    let mut report = LoadReport::default();
    while let Some(finished) = tasks.join_next().await {
        report.merge(finished.context("a load connection panicked")?);
    }
    report.elapsed = started.elapsed();
    report.latencies.sort_unstable();
    Ok(report)
}

/// One connection's requests until `deadline`. A failed request costs its
/// connection: the next request opens a new one.
async fn connection(addr: SocketAddr, path: &str, deadline: Instant) -> LoadReport {
    let mut report = LoadReport::default();
    let mut sender = None;
    while Instant::now() < deadline {
        let outcome = async {
            let sender = match &mut sender {
                Some(sender) => sender,
                None => sender.insert(connect(addr).await?),
            };
            let started = Instant::now();
            let status = tokio::time::timeout(REQUEST_TIMEOUT, get(sender, addr, path))
                .await
                .map_err(|_| anyhow::anyhow!("no answer within {REQUEST_TIMEOUT:?}"))??;
            anyhow::Ok((status, started.elapsed()))
        }
        .await;
        match outcome {
            Ok((200, took)) => {
                report.ok += 1;
                report.latencies.push(took);
            }
            Ok(_) => report.non_200 += 1,
            Err(error) => {
                report.errors += 1;
                report.first_error.get_or_insert(format!("{error:#}"));
                sender = None;
                // Do not spin on a server that refuses every connection.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    report
}

async fn connect(addr: SocketAddr) -> anyhow::Result<SendRequest<Empty<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .with_context(|| format!("cannot connect to {addr}"))?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("HTTP handshake failed")?;
    tokio::spawn(async move {
        // Its errors surface on the next request, which counts them.
        let _ = connection.await;
    });
    Ok(sender)
}

/// One request; the body is read whole so the connection can be reused.
async fn get(
    sender: &mut SendRequest<Empty<Bytes>>,
    addr: SocketAddr,
    path: &str,
) -> anyhow::Result<u16> {
    sender.ready().await.context("the connection closed")?;
    let request = http::Request::get(path)
        .header(http::header::HOST, addr.to_string())
        .body(Empty::new())?;
    let response = sender
        .send_request(request)
        .await
        .context("the request failed")?;
    let status = response.status().as_u16();
    response
        .into_body()
        .collect()
        .await
        .context("reading the answer's body failed")?;
    Ok(status)
}
