//! A throwaway Redis server for the Redis backend's tests.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::workspace;

/// The loopback port the test Redis listens on (not 6379, so a developer's
/// own Redis is left alone).
const PORT: u16 = 6391;

/// A Redis server the tests use; stopped when dropped.
pub struct TestRedis {
    child: Option<Child>,
    /// The URL the tests connect to.
    pub url: String,
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn installed() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Installs Debian's `redis-server` when it is missing and this is a root
/// shell with apt (a fresh CI or dev machine); otherwise says what to do.
fn install() -> anyhow::Result<()> {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    if !is_root {
        bail!(
            "redis-server is not installed: install it (Debian: apt-get install redis-server) or set EDGEPLUG_REDIS_URL"
        );
    }
    eprintln!("xtask: installing redis-server with apt-get");
    let apt = |args: &[&str]| {
        let mut command = Command::new("apt-get");
        command
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null());
        workspace::run(&mut command)
    };
    if apt(&["install", "-y", "redis-server"]).is_err() {
        apt(&["update"])?;
        apt(&["install", "-y", "redis-server"])?;
    }
    Ok(())
}

/// Uses `$EDGEPLUG_REDIS_URL` when set; otherwise starts `redis-server` on
/// loopback (installing it first if need be) without persistence.
pub fn start() -> anyhow::Result<TestRedis> {
    if let Ok(url) = std::env::var("EDGEPLUG_REDIS_URL") {
        return Ok(TestRedis { child: None, url });
    }
    if !installed() {
        install()?;
    }
    let child = Command::new("redis-server")
        .args([
            "--bind",
            "127.0.0.1",
            "--port",
            &PORT.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .spawn()
        .context("cannot start redis-server")?;
    let redis = TestRedis {
        child: Some(child),
        url: format!("redis://127.0.0.1:{PORT}"),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", PORT)).is_err() {
        if Instant::now() > deadline {
            bail!("redis-server did not start listening on 127.0.0.1:{PORT}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(redis)
}
