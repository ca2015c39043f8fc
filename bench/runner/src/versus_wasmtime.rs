//! `edgeplug-host serve` against `wasmtime serve` (the pinned CLI that
//! `cargo xtask bench` installs into `target/tools/`), on the same
//! `worker.wasm` and route, each with a fresh instance per request and with
//! up to 1000 requests per instance, interleaved round by round. Both run
//! as their own process and get the same load from this one.
//!
//! The route is `GET /nope`: it instantiates the whole composed worker and
//! answers 404 JSON without touching KV, which `wasmtime serve -S keyvalue`
//! keeps per instance (its counters would mean nothing). Any other status,
//! or any request without an answer, fails the bench.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context as _;
use host_test::load::{self, LoadPlan, Until};

/// The route both hosts are loaded with.
pub const ROUTE: &str = "/nope";

/// What the route answers.
const EXPECTED_STATUS: u16 = 404;

/// Requests per instance when reuse is on, on both hosts.
pub const REUSE_COUNT: u32 = 1000;

/// One host in one mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contender {
    /// `edgeplug-host serve`, reusing instances or not.
    Edgeplug {
        /// `--requests-per-instance 1000`.
        reuse: bool,
    },
    /// `wasmtime serve`, reusing instances or not.
    Wasmtime {
        /// `--max-instance-reuse-count 1000`.
        reuse: bool,
    },
}

impl Contender {
    /// Every contender, in the order each round runs them.
    pub const ALL: [Contender; 4] = [
        Contender::Edgeplug { reuse: false },
        Contender::Wasmtime { reuse: false },
        Contender::Edgeplug { reuse: true },
        Contender::Wasmtime { reuse: true },
    ];

    /// A label for the report.
    pub fn name(self) -> &'static str {
        match self {
            Contender::Edgeplug { reuse: false } => "edgeplug-host serve, fresh instances",
            Contender::Wasmtime { reuse: false } => "wasmtime serve, fresh instances",
            Contender::Edgeplug { reuse: true } => "edgeplug-host serve, reuse 1000",
            Contender::Wasmtime { reuse: true } => "wasmtime serve, reuse 1000",
        }
    }

    /// The key in bench.json.
    pub fn key(self) -> &'static str {
        match self {
            Contender::Edgeplug { reuse: false } => "edgeplug_fresh",
            Contender::Wasmtime { reuse: false } => "wasmtime_fresh",
            Contender::Edgeplug { reuse: true } => "edgeplug_reuse",
            Contender::Wasmtime { reuse: true } => "wasmtime_reuse",
        }
    }
}

/// The programs and files the comparison runs.
pub struct Setup<'a> {
    /// The `edgeplug-host` binary.
    pub host_bin: &'a Path,
    /// The `wasmtime` binary.
    pub wasmtime_bin: &'a Path,
    /// The worker both serve.
    pub worker: &'a Path,
    /// A scratch folder for our host's data.
    pub scratch: &'a Path,
}

/// Requests per second of each contender, one entry per round, in
/// [`Contender::ALL`]'s order.
pub async fn measure(
    setup: &Setup<'_>,
    rounds: usize,
    connections: usize,
    secs: u64,
) -> anyhow::Result<Vec<(Contender, Vec<f64>)>> {
    let mut results: Vec<(Contender, Vec<f64>)> =
        Contender::ALL.iter().map(|c| (*c, Vec::new())).collect();
    for _ in 0..rounds {
        for (contender, rps) in &mut results {
            let server = start(setup, *contender)?;
            let measured = load_rps(server.addr, connections, secs)
                .await
                .with_context(|| contender.name())?;
            drop(server);
            rps.push(measured);
        }
    }
    Ok(results)
}

/// A server process, killed when dropped.
struct Running {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `contender` and waits (up to two minutes: both compile the
/// worker first) for the line that says where it listens.
fn start(setup: &Setup<'_>, contender: Contender) -> anyhow::Result<Running> {
    let (mut command, ready_on_stderr) = match contender {
        Contender::Edgeplug { reuse } => {
            let mut command = Command::new(setup.host_bin);
            command
                .arg("serve")
                .args(["--listen", "127.0.0.1:0", "--s3-listen", "127.0.0.1:0"])
                .args(["--kv", "memory"])
                .arg("--compiled-cache")
                .arg(setup.scratch.join("compiled"))
                .arg("--s3-data")
                .arg(setup.scratch.join("s3"))
                .arg("--component")
                .arg(setup.worker)
                // Its one log line per request would cost it, not wasmtime.
                .env("RUST_LOG", "warn");
            if reuse {
                command.args(["--requests-per-instance", &REUSE_COUNT.to_string()]);
            }
            (command, false)
        }
        Contender::Wasmtime { reuse } => {
            let mut command = Command::new(setup.wasmtime_bin);
            command
                .arg("serve")
                // It prints the port it was given: "Serving HTTP on …".
                .args(["--addr", "127.0.0.1:0"])
                .args(["-S", "cli", "-S", "keyvalue", "-S", "config"]);
            if reuse {
                command.args(["--max-instance-reuse-count", &REUSE_COUNT.to_string()]);
            }
            command.arg(setup.worker);
            (command, true)
        }
    };
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {}", contender.name()))?;
    let (ready, other): (Box<dyn Read + Send>, Box<dyn Read + Send>) = match (
        child.stdout.take().context("no stdout")?,
        child.stderr.take().context("no stderr")?,
    ) {
        (stdout, stderr) if ready_on_stderr => (Box::new(stderr), Box::new(stdout)),
        (stdout, stderr) => (Box::new(stdout), Box::new(stderr)),
    };
    // Both pipes are drained for the server's life, so it never blocks on
    // a full one.
    std::thread::spawn(move || std::io::copy(&mut { other }, &mut std::io::sink()));
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(ready).lines().map_while(Result::ok) {
            if let Some(addr) = listening_address(&line) {
                let _ = addr_tx.send(addr);
            }
        }
    });
    // Owned before the wait, so a server that never gets ready is killed.
    let mut running = Running {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
    };
    running.addr = addr_rx
        .recv_timeout(Duration::from_secs(120))
        .with_context(|| format!("{} did not say where it listens", contender.name()))?;
    Ok(running)
}

/// The address in `edgeplug worker   http://127.0.0.1:8080/ (…)` or
/// `Serving HTTP on http://127.0.0.1:8080/`.
fn listening_address(line: &str) -> Option<SocketAddr> {
    if !line.starts_with("edgeplug worker") && !line.starts_with("Serving HTTP on") {
        return None;
    }
    let url = &line[line.find("http://")? + "http://".len()..];
    url.split('/').next()?.parse().ok()
}

/// Loads `addr` with `GET /nope` for a warm-up second, then `secs`
/// seconds; the answers per second of the second run.
async fn load_rps(addr: SocketAddr, connections: usize, secs: u64) -> anyhow::Result<f64> {
    let plan = |secs| {
        LoadPlan::get(
            vec![addr],
            connections,
            Until::Elapsed(Duration::from_secs(secs)),
            ROUTE,
        )
        .with_request_timeout(load::REQUEST_TIMEOUT)
    };
    let _warm = load::run(&plan(1)).await?;
    let run = load::run(&plan(secs)).await?;
    let expected = run.statuses.get(&EXPECTED_STATUS).copied().unwrap_or(0);
    anyhow::ensure!(
        run.transport_errors == 0 && expected == run.requests() && expected > 0,
        "GET {ROUTE}: {expected} answered {EXPECTED_STATUS} of {} (statuses {:?}, {} errors, first: {})",
        run.requests(),
        run.statuses,
        run.transport_errors,
        run.first_error.as_deref().unwrap_or("none")
    );
    Ok(expected as f64 / run.elapsed.as_secs_f64().max(f64::EPSILON))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_hosts_ready_lines_give_the_address() {
        assert_eq!(
            listening_address("edgeplug worker   http://127.0.0.1:8080/ (portable flavor)"),
            "127.0.0.1:8080".parse().ok()
        );
        assert_eq!(
            listening_address("Serving HTTP on http://127.0.0.1:9123/"),
            "127.0.0.1:9123".parse().ok()
        );
        assert_eq!(listening_address("KV store          memory"), None);
    }
}
