//! A small HTTP/1.1 load generator: keep-alive connections over loopback,
//! each sending its next request as soon as the last answer is read. The load tests use it to check
//! that no count is lost; `edgeplug-bench` uses it for requests per second.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;

/// When each connection stops sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// After this many requests on each connection.
    Requests(usize),
    /// Once this much time has passed since the start.
    Elapsed(Duration),
}

/// What to send, where, and how much.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    /// The servers; connection `i` goes to `targets[i % targets.len()]`.
    pub targets: Vec<SocketAddr>,
    /// How many connections send at once.
    pub connections: usize,
    /// When each connection stops.
    pub until: Until,
    /// The request method.
    pub method: http::Method,
    /// The request path, with any query.
    pub path: String,
    /// Headers every request carries (an `authorization`, say).
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
    /// How long one request may take before it counts as a transport
    /// error; `None` (the default) waits as long as the server takes, so a
    /// slow machine never turns a slow answer into a failure.
    pub request_timeout: Option<Duration>,
}

impl LoadPlan {
    /// `connections` connections, each sending `GET path` until `until`.
    pub fn get(targets: Vec<SocketAddr>, connections: usize, until: Until, path: &str) -> Self {
        Self {
            targets,
            connections,
            until,
            method: http::Method::GET,
            path: path.to_owned(),
            headers: Vec::new(),
            request_timeout: None,
        }
    }

    /// The same plan with another method.
    pub fn with_method(mut self, method: http::Method) -> Self {
        self.method = method;
        self
    }

    /// The same plan, with `name: value` on every request.
    pub fn with_header(mut self, name: http::HeaderName, value: http::HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The same plan, counting a request that takes longer than `timeout`
    /// as a transport error: for a bench, so that a stuck server ends the
    /// run instead of hanging it.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }
}

/// A per-request timeout far past anything a healthy run sees, for
/// [`LoadPlan::with_request_timeout`] in a bench.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What a load run saw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadReport {
    /// How many responses came back with each status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Requests that got no response (connection refused or reset, or no
    /// answer within [`REQUEST_TIMEOUT`]).
    pub transport_errors: u64,
    /// The first transport error, to show why.
    pub first_error: Option<String>,
    /// The time each 2xx response took, sorted.
    pub latencies: Vec<Duration>,
    /// The wall time of the whole run.
    pub elapsed: Duration,
}

impl LoadReport {
    /// Responses with a 2xx status.
    pub fn successes(&self) -> u64 {
        self.statuses
            .iter()
            .filter(|(status, _)| (200..300).contains(*status))
            .map(|(_, count)| count)
            .sum()
    }

    /// Every request sent, answered or not.
    pub fn requests(&self) -> u64 {
        self.statuses.values().sum::<u64>() + self.transport_errors
    }

    /// Responses with any status outside 2xx.
    pub fn failures(&self) -> u64 {
        self.statuses.values().sum::<u64>() - self.successes()
    }

    /// Successful responses per second of wall time.
    pub fn successes_per_second(&self) -> f64 {
        self.successes() as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// The `p` quantile (0.0 to 1.0) of the 2xx latencies.
    pub fn latency(&self, p: f64) -> Duration {
        quantile(&self.latencies, p)
    }

    fn merge(&mut self, other: LoadReport) {
        for (status, count) in other.statuses {
            *self.statuses.entry(status).or_default() += count;
        }
        self.transport_errors += other.transport_errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.latencies.extend(other.latencies);
    }
}

/// The `p` quantile (0.0 to 1.0) of `sorted` durations, nearest rank; zero
/// for none.
pub fn quantile(sorted: &[Duration], p: f64) -> Duration {
    let last = sorted.len().saturating_sub(1);
    let index = ((last as f64) * p.clamp(0.0, 1.0)).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

/// Runs `plan` and reports what came back. Every connection runs on its own
/// task; a connection that breaks is counted and reopened.
pub async fn run(plan: &LoadPlan) -> anyhow::Result<LoadReport> {
    anyhow::ensure!(!plan.targets.is_empty(), "a load plan needs a target");
    anyhow::ensure!(plan.connections > 0, "a load plan needs a connection");
    let started = Instant::now();
    let tasks: Vec<_> = (0..plan.connections)
        .map(|i| {
            let target = plan.targets[i % plan.targets.len()];
            let plan = plan.clone();
            tokio::spawn(async move { one_connection(target, &plan, started).await })
        })
        .collect();
    let mut report = LoadReport::default();
    for task in tasks {
        report.merge(task.await?);
    }
    report.elapsed = started.elapsed();
    report.latencies.sort_unstable();
    Ok(report)
}

async fn one_connection(target: SocketAddr, plan: &LoadPlan, started: Instant) -> LoadReport {
    let mut report = LoadReport::default();
    let mut sender = None;
    let mut sent = 0usize;
    loop {
        match plan.until {
            Until::Requests(n) if sent >= n => break,
            Until::Elapsed(limit) if started.elapsed() >= limit => break,
            _ => {}
        }
        sent += 1;
        let outcome = async {
            let sender = match &mut sender {
                Some(sender) => sender,
                None => sender.insert(connect(target).await?),
            };
            let began = Instant::now();
            let status = match plan.request_timeout {
                Some(limit) => tokio::time::timeout(limit, send(sender, target, plan))
                    .await
                    .map_err(|_| anyhow::anyhow!("no answer within {limit:?}"))??,
                None => send(sender, target, plan).await?,
            };
            anyhow::Ok((status, began.elapsed()))
        }
        .await;
        match outcome {
            Ok((status, took)) => {
                *report.statuses.entry(status).or_default() += 1;
                if (200..300).contains(&status) {
                    report.latencies.push(took);
                }
            }
            Err(error) => {
                report.transport_errors += 1;
                report.first_error.get_or_insert(format!("{error:#}"));
                // The next request opens a new connection; don't spin on a
                // server that refuses every one.
                sender = None;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    report
}

async fn connect(target: SocketAddr) -> anyhow::Result<http1::SendRequest<Empty<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(target)
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to {target}: {e}"))?;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

async fn send(
    sender: &mut http1::SendRequest<Empty<Bytes>>,
    target: SocketAddr,
    plan: &LoadPlan,
) -> anyhow::Result<u16> {
    sender.ready().await?;
    let mut request = http::Request::builder()
        .method(plan.method.clone())
        .uri(plan.path.as_str())
        .header(http::header::HOST, target.to_string());
    for (name, value) in &plan.headers {
        request = request.header(name, value);
    }
    let request = request.body(Empty::new())?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    // Read the body whole, so the connection is ready for the next request.
    response.into_body().collect().await?;
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_counts_successes_and_requests() {
        let mut report = LoadReport {
            statuses: BTreeMap::from([(200, 5), (201, 1), (503, 2)]),
            transport_errors: 1,
            elapsed: Duration::from_secs(2),
            ..LoadReport::default()
        };
        assert_eq!(report.successes(), 6);
        assert_eq!(report.failures(), 2);
        assert_eq!(report.requests(), 9);
        assert_eq!(report.successes_per_second(), 3.0);
        report.merge(LoadReport {
            statuses: BTreeMap::from([(200, 4)]),
            transport_errors: 2,
            first_error: Some("reset".into()),
            ..LoadReport::default()
        });
        assert_eq!(report.statuses[&200], 9);
        assert_eq!(report.transport_errors, 3);
        assert_eq!(report.first_error.as_deref(), Some("reset"));
    }

    #[test]
    fn latency_quantiles_come_from_the_sorted_latencies() {
        let report = LoadReport {
            latencies: (1..=100).map(Duration::from_millis).collect(),
            ..LoadReport::default()
        };
        assert_eq!(report.latency(0.0), Duration::from_millis(1));
        assert_eq!(report.latency(0.5), Duration::from_millis(51));
        assert_eq!(report.latency(0.99), Duration::from_millis(99));
        assert_eq!(report.latency(1.0), Duration::from_millis(100));
        assert_eq!(LoadReport::default().latency(0.5), Duration::ZERO);
    }

    #[tokio::test]
    async fn a_plan_without_targets_is_refused() {
        let plan = LoadPlan::get(Vec::new(), 1, Until::Requests(1), "/");
        assert!(run(&plan).await.is_err());
    }
}
