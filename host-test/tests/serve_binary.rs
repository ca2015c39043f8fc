//! `edgeplug-host serve`, the program `cargo xtask serve` runs, over real
//! loopback TCP: page views, an upload that lands byte-identical on disk.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

mod common;

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data: &std::path::Path) -> anyhow::Result<Server> {
    let worker = host_test::artifacts::component_path("worker")?;
    let mut child = Command::new(env!("CARGO_BIN_EXE_edgeplug-host"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--s3-listen",
            "127.0.0.1:0",
        ])
        .arg("--component")
        .arg(worker)
        .arg("--s3-data")
        .arg(data.join("s3"))
        .arg("--kv")
        .arg(data.join("kv.redb"))
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
    };
    for line in lines.by_ref() {
        let line = line?;
        if let Some(rest) = line.strip_prefix("edgeplug worker") {
            let url = rest
                .trim()
                .trim_start_matches("http://")
                .trim_end_matches('/');
            server.addr = url.to_owned();
            break;
        }
    }
    anyhow::ensure!(
        !server.addr.is_empty(),
        "the server did not print its address"
    );
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Ok(server)
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
