//! A throwaway Redis server for the Redis backend's tests.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::debian;

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

/// Uses `$EDGEPLUG_REDIS_URL` when set; otherwise starts `redis-server` on
/// loopback (installing it first if need be) without persistence.
pub fn start() -> anyhow::Result<TestRedis> {
    if let Ok(url) = std::env::var("EDGEPLUG_REDIS_URL") {
        return Ok(TestRedis { child: None, url });
    }
    if !debian::runs("redis-server") {
        debian::install(&["redis-server"], "set EDGEPLUG_REDIS_URL")?;
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
