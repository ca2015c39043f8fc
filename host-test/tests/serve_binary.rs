//! `edgeplug-host serve`, the program `cargo xtask serve` runs, over real
//! loopback TCP: page views, an upload that lands byte-identical on disk,
//! counts that survive a restart, no lost count under 64 concurrent clients
//! (one server on redb, two sharing Redis), a graceful drain on SIGTERM, the
//! config file and flavors, and clear failures for bad input.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use host_test::load::{self, LoadPlan, Until};

mod common;

/// A running `edgeplug-host serve`, killed when dropped.
struct Server {
    child: Child,
    addr: String,
    /// What it printed after its address.
    stdout: Arc<Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Waits up to a few seconds for a printed line containing `text`.
    fn printed(&self, text: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
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

    fn socket_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.addr.parse()?)
    }

    /// Sends SIGTERM (through the shell's `kill`, which every `sh` has).
    fn send_sigterm(&self) -> anyhow::Result<()> {
        let status = Command::new("sh")
            .args(["-c", "kill -TERM \"$0\""])
            .arg(self.child.id().to_string())
            .status()?;
        anyhow::ensure!(status.success(), "kill -TERM failed");
        Ok(())
    }

    /// Sends SIGTERM and waits for the exit status.
    fn terminate(&mut self) -> anyhow::Result<std::process::ExitStatus> {
        self.send_sigterm()?;
        Ok(self.child.wait()?)
    }
}

/// `edgeplug-host serve` on free ports with its data in `data`, the portable
/// worker, and `flags` (which replace those defaults where they overlap).
fn serve_command(data: &Path, flags: &[&str]) -> anyhow::Result<Command> {
    let worker = host_test::artifacts::component_path("worker")?;
    let s3_data = data.join("s3");
    let defaults = [
        ("--listen", "127.0.0.1:0".to_owned()),
        ("--s3-listen", "127.0.0.1:0".to_owned()),
        ("--component", worker.display().to_string()),
        ("--s3-data", s3_data.display().to_string()),
    ];
    let mut command = Command::new(env!("CARGO_BIN_EXE_edgeplug-host"));
    command.arg("serve");
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
fn start_command(mut command: Command) -> anyhow::Result<Server> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let mut lines = BufReader::new(stdout).lines();
    let mut server = Server {
        child,
        addr: String::new(),
        stdout: Arc::default(),
    };
    for line in lines.by_ref() {
        let line = line?;
        if let Some(rest) = line.strip_prefix("edgeplug worker") {
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

/// Starts the server with the default KV store (a redb file in `data`).
fn start(data: &Path) -> anyhow::Result<Server> {
    start_command(serve_command(data, &[])?)
}

/// Runs `command` to its end and returns its exit code and stderr.
fn run_to_failure(mut command: Command) -> anyhow::Result<(Option<i32>, String)> {
    let output = command.stdout(Stdio::null()).output()?;
    Ok((
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    ))
}

/// One HTTP/1.1 exchange; returns the status and the body.
fn exchange(addr: &str, method: &str, path: &str, body: &[u8]) -> anyhow::Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
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
    Ok((status, body))
}

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

#[test]
fn serve_counts_page_views_and_stores_uploads() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let server = start(data.path())?;
    for n in 1..=3 {
        let (status, body) = exchange(&server.addr, "GET", "/", b"")?;
        assert_eq!(status, 200);
        assert_eq!(String::from_utf8(body)?, format!("Page views: {n}"));
    }
    let file: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let (status, body) = exchange(&server.addr, "PUT", "/objects/a/b.txt", &file)?;
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let stored = std::fs::read(data.path().join("s3/uploads/a/b.txt"))?;
    assert!(stored == file, "the stored object is byte-identical");
    let (status, _) = exchange(&server.addr, "GET", "/nowhere", b"")?;
    assert_eq!(status, 404);
    Ok(())
}

#[test]
fn counts_survive_a_restart_with_the_default_store() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    {
        let server = start(data.path())?;
        for n in 1..=2 {
            let (_, body) = exchange(&server.addr, "GET", "/", b"")?;
            assert_eq!(String::from_utf8(body)?, format!("Page views: {n}"));
        }
    } // dropping the server kills the process
    let server = start(data.path())?;
    let (_, body) = exchange(&server.addr, "GET", "/", b"")?;
    assert_eq!(String::from_utf8(body)?, "Page views: 3");
    Ok(())
}

/// `clients` keep-alive clients × `each` `POST /counters/{counter}`, spread
/// over `targets`.
fn hammer(
    targets: Vec<SocketAddr>,
    clients: usize,
    each: usize,
    counter: &str,
) -> anyhow::Result<load::LoadReport> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let plan = LoadPlan::get(
        targets,
        clients,
        Until::Requests(each),
        &format!("/counters/{counter}"),
    )
    .with_method(http::Method::POST);
    runtime.block_on(load::run(&plan))
}

/// The counter's value, read through `server`.
fn read_counter(server: &Server, counter: &str) -> anyhow::Result<i64> {
    let (status, body) = exchange(&server.addr, "GET", &format!("/counters/{counter}"), b"")?;
    anyhow::ensure!(status == 200, "GET answered {status}");
    let json: serde_json::Value = serde_json::from_slice(&body)?;
    json["value"]
        .as_i64()
        .ok_or_else(|| anyhow::anyhow!("no value in {json}"))
}

#[test]
fn sixty_four_clients_lose_no_count_on_the_default_store() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let server = start(data.path())?;
    let report = hammer(vec![server.socket_addr()?], 64, 1000, "load")?;
    assert_eq!(report.successes(), 64_000, "{report:?}");
    assert_eq!(read_counter(&server, "load")?, 64_000);
    Ok(())
}

#[test]
fn two_servers_sharing_redis_lose_no_count() -> anyhow::Result<()> {
    let url = std::env::var("EDGEPLUG_REDIS_URL")
        .map_err(|_| anyhow::anyhow!("EDGEPLUG_REDIS_URL is not set: run `cargo xtask test`"))?;
    // A name of its own, so a rerun against the same Redis starts at zero.
    let counter = format!(
        "load-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos()
    );
    let data = tempfile::tempdir()?;
    let (a, b) = (data.path().join("a"), data.path().join("b"));
    std::fs::create_dir_all(&a)?;
    std::fs::create_dir_all(&b)?;
    let first = start_command(serve_command(&a, &["--kv", &url])?)?;
    let second = start_command(serve_command(&b, &["--kv", &url])?)?;
    let targets = vec![first.socket_addr()?, second.socket_addr()?];
    let report = hammer(targets, 64, 1000, &counter)?;
    assert_eq!(report.successes(), 64_000, "{report:?}");
    // Both servers see every increment, whichever took it.
    assert_eq!(read_counter(&first, &counter)?, 64_000);
    assert_eq!(read_counter(&second, &counter)?, 64_000);
    Ok(())
}

#[test]
fn sigterm_lets_an_in_flight_upload_finish_then_exits_cleanly() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut server = start(data.path())?;
    // An upload whose body arrives in two halves, with SIGTERM in between.
    let body: Vec<u8> = (0..64 * 1024u32).map(|i| (i % 253) as u8).collect();
    let (first, second) = body.split_at(body.len() / 2);
    let mut stream = TcpStream::connect(&server.addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "PUT /objects/drained.bin HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        server.addr,
        body.len()
    )?;
    stream.write_all(first)?;
    stream.flush()?;
    std::thread::sleep(Duration::from_millis(300));

    server.send_sigterm()?;
    std::thread::sleep(Duration::from_millis(300));
    // Draining: no new connections, but the upload in flight goes on.
    assert!(
        TcpStream::connect(&server.addr).is_err(),
        "the server stopped accepting"
    );
    assert!(
        server.child.try_wait()?.is_none(),
        "the server waits for the upload"
    );
    stream.write_all(second)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let head = String::from_utf8_lossy(&raw);
    assert!(head.starts_with("HTTP/1.1 201"), "{head}");
    assert_eq!(
        std::fs::read(data.path().join("s3/uploads/drained.bin"))?,
        body
    );
    let status = server.child.wait()?;
    assert!(status.success(), "exits 0 after draining: {status}");
    Ok(())
}

#[test]
fn sigterm_on_an_idle_server_exits_at_once() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut server = start(data.path())?;
    exchange(&server.addr, "GET", "/", b"")?;
    let started = Instant::now();
    let status = server.terminate()?;
    assert!(status.success(), "{status}");
    assert!(started.elapsed() < Duration::from_secs(5));
    Ok(())
}

#[test]
fn a_bad_flag_fails_with_usage_and_exit_code_2() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let (code, stderr) = run_to_failure(serve_command(data.path(), &["--listne", "x"])?)?;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--listne"), "{stderr}");
    let (code, stderr) = run_to_failure(serve_command(data.path(), &["--flavor", "cloud"])?)?;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("portable"), "names the choices: {stderr}");
    Ok(())
}

#[test]
fn a_taken_port_fails_naming_the_address() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let taken = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = taken.local_addr()?.to_string();
    let (code, stderr) = run_to_failure(serve_command(data.path(), &["--listen", &addr])?)?;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
    Ok(())
}

#[test]
fn an_unreadable_component_fails_naming_it() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let missing = data.path().join("nowhere.wasm").display().to_string();
    let command = serve_command(data.path(), &["--component", &missing])?;
    let (code, stderr) = run_to_failure(command)?;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("nowhere.wasm"), "{stderr}");
    assert!(stderr.contains("cargo xtask build"), "{stderr}");

    let garbage = data.path().join("garbage.wasm");
    std::fs::write(&garbage, b"not a component")?;
    let garbage = garbage.display().to_string();
    let (code, stderr) = run_to_failure(serve_command(data.path(), &["--component", &garbage])?)?;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("garbage.wasm"), "{stderr}");
    Ok(())
}

#[test]
fn the_config_file_sets_worker_config_and_flags_override_it() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let file = data.path().join("edgeplug.toml");
    std::fs::write(
        &file,
        "kv = \"memory\"\n[config]\nupload-token = \"from-the-file\"\n",
    )?;
    let file = file.display().to_string();
    let server = start_command(serve_command(data.path(), &["--config-file", &file])?)?;
    // The file's upload token now guards uploads.
    let (status, _) = exchange(&server.addr, "PUT", "/objects/t.txt", b"x")?;
    assert_eq!(status, 401);
    // The file chose the memory store: no redb file appears.
    exchange(&server.addr, "GET", "/", b"")?;
    assert!(!data.path().join(".edgeplug-data/kv.redb").exists());
    Ok(())
}

#[test]
fn the_fastedge_flavor_serves_the_fastedge_worker() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let fastedge = host_test::artifacts::component_path("worker-fastedge")?;
    let fastedge = fastedge.display().to_string();
    let server = start_command(serve_command(
        data.path(),
        &["--flavor", "fastedge", "--component", &fastedge],
    )?)?;
    for n in 1..=2 {
        let (status, body) = exchange(&server.addr, "GET", "/", b"")?;
        assert_eq!(status, 200);
        assert_eq!(String::from_utf8(body)?, format!("Page views: {n}"));
    }
    let (status, body) = exchange(&server.addr, "PUT", "/objects/fe.txt", b"hello")?;
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    Ok(())
}

#[test]
fn serve_pools_instances_and_falls_back_where_the_pool_cannot_be_reserved() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let server = start(data.path())?;
    assert!(server.printed("pooling allocator"));
    drop(server);

    // 256 GiB of address space: too little for the pool's reservation
    // (terabytes), plenty for instances allocated one by one.
    let plain = serve_command(data.path(), &["--kv", "memory"])?;
    let mut limited = Command::new("sh");
    limited
        .arg("-c")
        .arg("ulimit -v 268435456 && exec \"$0\" \"$@\"")
        .arg(plain.get_program())
        .args(plain.get_args())
        .current_dir(data.path());
    let server = start_command(limited)?;
    assert!(server.printed("on-demand allocator"));
    for n in 1..=3 {
        let (status, body) = exchange(&server.addr, "GET", "/", b"")?;
        assert_eq!(status, 200);
        assert_eq!(String::from_utf8(body)?, format!("Page views: {n}"));
    }
    Ok(())
}
