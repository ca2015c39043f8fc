//! Start-up: from launching `edgeplug-host serve` to its first 200, with the
//! worker compiled at start (`--compiled-cache off`) and loaded precompiled
//! from a warm cache, interleaved round by round.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;

/// Medians and spreads of both ways to start, over `rounds` rounds each.
pub struct Startup {
    /// Time to first 200 when the worker is compiled at start.
    pub compiled: Vec<Duration>,
    /// Time to first 200 when the worker is loaded from the cache.
    pub precompiled: Vec<Duration>,
}

/// Starts the server `rounds` times each way, alternating, from `scratch`.
pub fn measure(
    host_bin: &Path,
    worker: &Path,
    scratch: &Path,
    rounds: usize,
) -> anyhow::Result<Startup> {
    let cache = scratch.join("compiled");
    // Prime the cache once; every warm round then finds the artifact.
    start_to_first_200(host_bin, worker, scratch, Some(&cache))?;
    let mut startup = Startup {
        compiled: Vec::with_capacity(rounds),
        precompiled: Vec::with_capacity(rounds),
    };
    for _ in 0..rounds {
        startup
            .compiled
            .push(start_to_first_200(host_bin, worker, scratch, None)?);
        startup
            .precompiled
            .push(start_to_first_200(host_bin, worker, scratch, Some(&cache))?);
    }
    startup.compiled.sort();
    startup.precompiled.sort();
    Ok(startup)
}

/// Kills the child when dropped, so a failed round leaves no server behind.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Launches `serve` on free ports with a memory KV store, and times it to
/// the first 200 of `GET /`.
fn start_to_first_200(
    host_bin: &Path,
    worker: &Path,
    scratch: &Path,
    cache: Option<&Path>,
) -> anyhow::Result<Duration> {
    let cache_flag = cache.map_or_else(|| "off".into(), |dir| dir.display().to_string());
    let started = Instant::now();
    let mut child = Running(
        Command::new(host_bin)
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--s3-listen", "127.0.0.1:0"])
            .args(["--kv", "memory", "--compiled-cache", &cache_flag])
            .arg("--component")
            .arg(worker)
            .arg("--s3-data")
            .arg(scratch.join("s3"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", host_bin.display()))?,
    );
    let stdout = child.0.stdout.take().context("no stdout")?;
    // The worker's line is printed once it listens; the first request is
    // sent then, so the time includes it. The rest of stdout is drained so
    // the server never writes to a closed pipe.
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line
                .strip_prefix("edgeplug worker")
                .and_then(|rest| rest.split_whitespace().next())
            {
                let addr = url.trim_start_matches("http://").trim_end_matches('/');
                let _ = addr_tx.send(addr.to_owned());
            }
        }
    });
    let addr = addr_rx
        .recv_timeout(Duration::from_secs(120))
        .context("serve did not print its address")?;
    let status = get_status(&addr)?;
    let elapsed = started.elapsed();
    anyhow::ensure!(status == 200, "GET / answered {status} at start-up");
    Ok(elapsed)
}

/// `GET /` on a new connection; the status code.
fn get_status(addr: &str) -> anyhow::Result<u16> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(
        stream,
        "GET / HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"
    )?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    let text = std::str::from_utf8(&head[9..12])?;
    Ok(text.parse()?)
}
