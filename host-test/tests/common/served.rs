//! `edgeplug-host serve` as a child process, for the tests that drive the
//! real binary: started on free ports, read line by line, killed on drop.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The local store's secret key, given to `serve` and to `s3 sweep`.
pub const LOCAL_S3_SECRET: &str = "edgeplug-local-s3-secret-Pm3";

/// A running `edgeplug-host serve`, killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: String,
    /// What it printed after its address.
    pub stdout: Arc<Mutex<Vec<String>>>,
    /// What it logged (its stderr).
    pub stderr: Arc<Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Waits (up to a generous minute) for a printed line containing `text`.
    pub fn printed(&self, text: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let lines = self.stdout.lock().unwrap_or_else(|e| e.into_inner());
            if lines.iter().any(|line| line.contains(text)) {
                return true;
            }
            drop(lines);
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Waits (up to a generous minute) until `count` log lines contain
    /// every one of `texts`, and returns all the log lines that do.
    pub fn logged(&self, texts: &[&str], count: usize) -> anyhow::Result<Vec<String>> {
        let give_up = Instant::now() + Duration::from_secs(60);
        loop {
            let lines: Vec<String> = self
                .stderr
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .filter(|line| texts.iter().all(|text| line.contains(text)))
                .cloned()
                .collect();
            if lines.len() >= count {
                return Ok(lines);
            }
            anyhow::ensure!(
                Instant::now() < give_up,
                "gave up waiting for {count} log lines with {texts:?}; got {lines:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Fails if anything the server printed or logged holds a secret it
    /// was configured with.
    pub fn assert_no_secret_printed(&self) {
        for lines in [&self.stdout, &self.stderr] {
            let lines = lines.lock().unwrap_or_else(|e| e.into_inner());
            for line in lines.iter() {
                for secret in [super::WRITE_TOKEN, LOCAL_S3_SECRET, super::SECRET] {
                    assert!(
                        !line.contains(secret),
                        "a secret was printed (starts {}…)",
                        &secret[..4]
                    );
                }
            }
        }
    }

    /// The local S3 store's URL (`http://host:port`), from its printed line.
    pub fn s3_endpoint(&self) -> anyhow::Result<String> {
        anyhow::ensure!(self.printed("local S3 store"), "no S3 line printed");
        let lines = self.stdout.lock().unwrap_or_else(|e| e.into_inner());
        lines
            .iter()
            .find_map(|line| line.strip_prefix("local S3 store"))
            .and_then(|rest| rest.split_whitespace().next())
            .map(|url| url.trim_end_matches('/').to_owned())
            .ok_or_else(|| anyhow::anyhow!("no S3 address printed"))
    }

    pub fn socket_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.addr.parse()?)
    }

    /// Sends SIGTERM (through the shell's `kill`, which every `sh` has).
    pub fn send_sigterm(&self) -> anyhow::Result<()> {
        let status = Command::new("sh")
            .args(["-c", "kill -TERM \"$0\""])
            .arg(self.child.id().to_string())
            .status()?;
        anyhow::ensure!(status.success(), "kill -TERM failed");
        Ok(())
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> anyhow::Result<std::process::ExitStatus> {
        self.send_sigterm()?;
        Ok(self.child.wait()?)
    }
}

/// The `edgeplug-host` binary, as cargo built it beside this test (the host
/// crate's own tests make `cargo test --workspace` build it), or where
/// `EDGEPLUG_HOST_BIN` says.
pub fn host_binary() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("EDGEPLUG_HOST_BIN") {
        return Ok(PathBuf::from(path));
    }
    // target/<profile>/deps/<test> -> target/<profile>/edgeplug-host
    let test = std::env::current_exe()?;
    let binary = test
        .parent()
        .and_then(Path::parent)
        .map(|profile| profile.join(format!("edgeplug-host{}", std::env::consts::EXE_SUFFIX)))
        .filter(|binary| binary.is_file());
    binary.ok_or_else(|| {
        anyhow::anyhow!(
            "the edgeplug-host binary is not built beside {}: run the tests with              `cargo xtask test` (or `cargo test --workspace`), or build it with              `cargo build -p edgeplug-host`",
            test.display()
        )
    })
}

/// `edgeplug-host serve` on free ports with its data in `data`, the portable
/// worker, and `flags` (which replace those defaults where they overlap).
pub fn serve_command(data: &Path, flags: &[&str]) -> anyhow::Result<Command> {
    let worker = host_test::artifacts::component_path("worker")?;
    let s3_data = data.join("s3");
    let defaults = [
        ("--listen", "127.0.0.1:0".to_owned()),
        ("--s3-listen", "127.0.0.1:0".to_owned()),
        ("--component", worker.display().to_string()),
        ("--s3-data", s3_data.display().to_string()),
    ];
    let mut command = Command::new(host_binary()?);
    command.arg("serve");
    // As `cargo xtask serve` does: a write token from the environment.
    command.env("EDGEPLUG_UPLOAD_TOKEN", super::WRITE_TOKEN);
    command.env("EDGEPLUG_S3_SECRET", LOCAL_S3_SECRET);
    for (flag, value) in defaults {
        if !flags.contains(&flag) {
            command.args([flag, &value]);
        }
    }
    // Relative defaults (the redb store) land in the data folder.
    command.args(flags).current_dir(data);
    Ok(command)
}

/// Starts `command` and waits until it prints the worker's address.
pub fn start_command(command: Command) -> anyhow::Result<Server> {
    start_printing(command, "edgeplug worker")
}

/// `edgeplug-host kv-gateway` on a free port over the store `kv`, with
/// `token` in its environment.
pub fn gateway_command(data: &Path, kv: &str, token: &str) -> anyhow::Result<Command> {
    let mut command = Command::new(host_binary()?);
    command
        .args(["kv-gateway", "--listen", "127.0.0.1:0", "--kv", kv])
        .env("EDGEPLUG_KV_GATEWAY_TOKEN", token)
        .current_dir(data);
    Ok(command)
}

/// Starts `command` and waits until it prints the gateway's address.
pub fn start_gateway(command: Command) -> anyhow::Result<Server> {
    start_printing(command, "KV gateway")
}

/// Starts `command` and waits until it prints a line starting with `label`
/// followed by its `http://` address.
fn start_printing(mut command: Command, label: &str) -> anyhow::Result<Server> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stderr"))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let mut lines = BufReader::new(stdout).lines();
    let mut server = Server {
        child,
        addr: String::new(),
        stdout: Arc::default(),
        stderr: Arc::default(),
    };
    // Keep draining stderr too, from the start, so every log line is kept.
    let logged = Arc::clone(&server.stderr);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            logged.lock().unwrap_or_else(|e| e.into_inner()).push(line);
        }
    });
    for line in lines.by_ref() {
        let line = line?;
        if let Some(rest) = line.strip_prefix(label) {
            let url = rest.split_whitespace().next().unwrap_or_default();
            server.addr = url
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .to_owned();
            break;
        }
    }
    anyhow::ensure!(
        !server.addr.is_empty(),
        "the server did not print its address"
    );
    // Keep draining stdout so the child never blocks on a full pipe.
    let printed = Arc::clone(&server.stdout);
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            printed.lock().unwrap_or_else(|e| e.into_inner()).push(line);
        }
    });
    Ok(server)
}

/// One HTTP/1.1 exchange with the given extra headers and no others;
/// returns the status, the head (lowercased) and the body.
pub fn exchange_with(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> anyhow::Result<(u16, String, Vec<u8>)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    )?;
    for (name, value) in headers {
        write!(stream, "{name}: {value}\r\n")?;
    }
    stream.write_all(b"\r\n")?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| anyhow::anyhow!("no header end in {:?}", String::from_utf8_lossy(&raw)))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no status in {head}"))?;
    let mut body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body)?;
    }
    Ok((status, head.to_ascii_lowercase(), body))
}

/// The body of a chunked answer, its chunks joined.
fn dechunk(mut data: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| anyhow::anyhow!("bad chunk"))?;
        let size = usize::from_str_radix(std::str::from_utf8(&data[..line_end])?.trim(), 16)?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}
