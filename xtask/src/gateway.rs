//! The local KV gateway `cargo xtask serve --flavor global` starts beside
//! the worker: `edgeplug-host kv-gateway` on `127.0.0.1:8079`, its store in
//! `.edgeplug-data/gateway.redb` (counts survive restarts), its token in
//! `.edgeplug-data/kv-gateway-token` (mode 0600), handed to both through
//! the environment and never printed.

use std::net::{SocketAddr, TcpStream};
use std::process::Child;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::{token, workspace};

/// Where the local gateway listens.
pub const LISTEN: &str = "127.0.0.1:8079";
/// The gateway's store, relative to the workspace root.
const STORE: &str = ".edgeplug-data/gateway.redb";
/// The gateway's token file, relative to the workspace root.
const TOKEN_FILE: &str = ".edgeplug-data/kv-gateway-token";
/// The environment variable the gateway reads its token from.
const GATEWAY_TOKEN_ENV: &str = "EDGEPLUG_KV_GATEWAY_TOKEN";
/// The environment variable `serve` reads the central store's token from.
pub const SERVE_TOKEN_ENV: &str = "EDGEPLUG_KV_REST_TOKEN";
/// How long the gateway may take to answer on its port: its first
/// `cargo run` may compile the host. A give-up time, not a timing bound.
const GIVE_UP: Duration = Duration::from_secs(900);

/// A running local gateway, stopped when dropped.
pub struct LocalGateway {
    child: Child,
    token: String,
}

impl LocalGateway {
    /// Starts the gateway and waits until its port answers.
    pub fn start(root: &std::path::Path) -> anyhow::Result<Self> {
        let (_, token) = token::ensure_at(root.join(TOKEN_FILE))?;
        let mut command = workspace::host_binary(root, "edgeplug-host");
        command
            .args(["kv-gateway", "--listen", LISTEN, "--kv", STORE])
            .env(GATEWAY_TOKEN_ENV, &token)
            .current_dir(root);
        println!(
            "xtask: starting the local KV gateway for the global flavor on {LISTEN} (its token is kept in {TOKEN_FILE}, readable by you only)"
        );
        // Not `{command:?}` in messages: it would show the token.
        let child = command
            .spawn()
            .context("cannot start edgeplug-host kv-gateway")?;
        let mut gateway = Self { child, token };
        gateway.wait_until_listening()?;
        Ok(gateway)
    }

    fn wait_until_listening(&mut self) -> anyhow::Result<()> {
        let addr: SocketAddr = LISTEN.parse()?;
        let give_up = Instant::now() + GIVE_UP;
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok() {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!("edgeplug-host kv-gateway exited with {status} before listening");
            }
            anyhow::ensure!(
                Instant::now() < give_up,
                "the KV gateway did not listen on {LISTEN} in {} s",
                GIVE_UP.as_secs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The URL the worker reaches the gateway at.
    pub fn url(&self) -> String {
        format!("http://{LISTEN}")
    }

    /// The token the worker sends.
    pub fn token(&self) -> &str {
        &self.token
    }
}

impl Drop for LocalGateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
