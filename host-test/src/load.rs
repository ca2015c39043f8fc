//! A small HTTP/1.1 load generator: keep-alive connections over loopback,
//! each sending requests one after another. The load tests use it to check
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
        }
    }

    /// The same plan with another method.
    pub fn with_method(mut self, method: http::Method) -> Self {
        self.method = method;
        self
    }
}

/// What a load run saw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadReport {
    /// How many responses came back with each status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Requests that got no response (connection refused, reset, ...).
    pub transport_errors: u64,
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

    /// Successful responses per second of wall time.
    pub fn successes_per_second(&self) -> f64 {
        self.successes() as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    fn merge(&mut self, other: LoadReport) {
        for (status, count) in other.statuses {
            *self.statuses.entry(status).or_default() += count;
        }
        self.transport_errors += other.transport_errors;
    }
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
        if sender.is_none() {
            sender = connect(target).await.ok();
        }
        let Some(open) = sender.as_mut() else {
            report.transport_errors += 1;
            continue;
        };
        match send(open, target, plan).await {
            Ok(status) => *report.statuses.entry(status).or_default() += 1,
            Err(_) => {
                report.transport_errors += 1;
                sender = None;
            }
        }
    }
    report
}

async fn connect(target: SocketAddr) -> anyhow::Result<http1::SendRequest<Empty<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(target).await?;
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
    let request = http::Request::builder()
        .method(plan.method.clone())
        .uri(plan.path.as_str())
        .header(http::header::HOST, target.to_string())
        .body(Empty::new())?;
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
        };
        assert_eq!(report.successes(), 6);
        assert_eq!(report.requests(), 9);
        assert_eq!(report.successes_per_second(), 3.0);
        report.merge(LoadReport {
            statuses: BTreeMap::from([(200, 4)]),
            transport_errors: 2,
            elapsed: Duration::ZERO,
        });
        assert_eq!(report.statuses[&200], 9);
        assert_eq!(report.transport_errors, 3);
    }

    #[tokio::test]
    async fn a_plan_without_targets_is_refused() {
        let plan = LoadPlan::get(Vec::new(), 1, Until::Requests(1), "/");
        assert!(run(&plan).await.is_err());
    }
}
