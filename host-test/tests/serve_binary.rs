//! `edgeplug-host serve`, the program `cargo xtask serve` runs, over real
//! loopback TCP: page views, an upload that lands byte-identical on disk,
//! counts that survive a restart, no lost count under 64 concurrent clients
//! (one server on redb, two sharing Redis), a graceful drain on SIGTERM, a
//! restart that loads the worker precompiled, the config file and flavors, and clear failures for bad input. (Its
//! command-line errors that need no worker are tested beside it, in
//! `host/tests/cli.rs`.)

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use host_test::load::{self, LoadPlan, Until};

mod common;

use common::served::{
    LOCAL_S3_SECRET, Server, exchange_with, host_binary, serve_command, start_command,
};

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

/// One HTTP/1.1 exchange with the write token; returns the status and the
/// body.
fn exchange(addr: &str, method: &str, path: &str, body: &[u8]) -> anyhow::Result<(u16, Vec<u8>)> {
    let (status, _, body) = exchange_with(
        addr,
        method,
        path,
        &[("authorization", common::WRITE_AUTHORIZATION)],
        body,
    )?;
    Ok((status, body))
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

#[test]
fn a_restart_loads_the_worker_precompiled_and_a_damaged_artifact_is_rebuilt() -> anyhow::Result<()>
{
    let data = tempfile::tempdir()?;
    let cache = data.path().join(".edgeplug-data/compiled");
    {
        let server = start(data.path())?;
        server.logged(&["compiled the worker; kept in"], 1)?;
        assert_eq!(exchange(&server.addr, "GET", "/", b"")?.0, 200);
    }
    let artifacts: Vec<_> = std::fs::read_dir(&cache)?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "cwasm"))
        .collect();
    assert_eq!(artifacts.len(), 1, "{artifacts:?}");
    {
        let server = start(data.path())?;
        server.logged(&["loaded the worker precompiled"], 1)?;
        let (status, body) = exchange(&server.addr, "GET", "/", b"")?;
        assert_eq!(status, 200);
        assert_eq!(String::from_utf8(body)?, "Page views: 2");
    }
    // One flipped bit in the machine code: the next start must notice,
    // compile again and serve, never run the damaged code.
    let mut bytes = std::fs::read(&artifacts[0])?;
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    std::fs::write(&artifacts[0], &bytes)?;
    let server = start(data.path())?;
    server.logged(&["compiled the worker again", "digest"], 1)?;
    let (status, body) = exchange(&server.addr, "GET", "/", b"")?;
    assert_eq!(status, 200);
    assert_eq!(String::from_utf8(body)?, "Page views: 3");
    drop(server);
    let server = start(data.path())?;
    server.logged(&["loaded the worker precompiled"], 1)?;
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
    let server = start_command(serve_command(
        data.path(),
        &["--config", "allow-anonymous-counter-writes=true"],
    )?)?;
    let report = hammer(vec![server.socket_addr()?], 64, 1000, "load")?;
    assert_eq!(report.successes(), 64_000, "{report:?}");
    assert_eq!(read_counter(&server, "load")?, 64_000);
    Ok(())
}

#[test]
fn requests_per_instance_turns_reuse_on_and_loses_no_count() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let server = start_command(serve_command(
        data.path(),
        &[
            "--config",
            "allow-anonymous-counter-writes=true",
            "--requests-per-instance",
            "500",
        ],
    )?)?;
    assert!(server.printed("reused for up to 500 requests each"));
    let report = hammer(vec![server.socket_addr()?], 16, 200, "reused")?;
    assert_eq!(report.successes(), 3_200, "{report:?}");
    assert_eq!(read_counter(&server, "reused")?, 3_200);
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
    let open = [
        "--config",
        "allow-anonymous-counter-writes=true",
        "--kv",
        &url,
    ];
    let first = start_command(serve_command(&a, &open)?)?;
    let second = start_command(serve_command(&b, &open)?)?;
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
    let mut server = start_command(serve_command(
        data.path(),
        &["--config", "s3-part-size=5242880"],
    )?)?;
    // A chunked upload whose first part is in the store: in flight for sure.
    let mut stream = start_chunked_upload(&server, data.path(), "drained.bin")?;
    server.send_sigterm()?;
    // Draining: no new connections...
    wait_until("the server stops accepting", || {
        TcpStream::connect(&server.addr).is_err()
    })?;
    // ...but the upload in flight goes on to the end.
    assert!(
        server.child.try_wait()?.is_none(),
        "the server waits for the upload"
    );
    let tail = b"the last bytes";
    write!(stream, "{:x}\r\n", tail.len())?;
    stream.write_all(tail)?;
    stream.write_all(b"\r\n0\r\n\r\n")?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let head = String::from_utf8_lossy(&raw);
    assert!(head.starts_with("HTTP/1.1 201"), "{head}");
    let mut expected = vec![b'x'; 6 * 1024 * 1024];
    expected.extend_from_slice(tail);
    let stored = std::fs::read(data.path().join("s3/uploads/drained.bin"))?;
    assert!(stored == expected, "the drained upload is byte-identical");
    let status = server.child.wait()?;
    assert!(status.success(), "exits 0 after draining: {status}");
    Ok(())
}

#[test]
fn a_drain_that_times_out_exits_1() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut server = start_command(serve_command(
        data.path(),
        &[
            "--drain-timeout-ms",
            "500",
            "--config",
            "s3-part-size=5242880",
        ],
    )?)?;
    // An upload that never finishes keeps the drain from completing.
    let _stream = start_chunked_upload(&server, data.path(), "never.bin")?;
    let status = server.terminate()?;
    assert_eq!(status.code(), Some(1), "{status}");
    Ok(())
}

#[test]
fn sigterm_on_an_idle_server_exits_without_waiting_for_the_drain_timeout() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    // A drain timeout of an hour: an exit within the minute below can only
    // mean the server saw nothing to drain.
    let mut server = start_command(serve_command(
        data.path(),
        &["--drain-timeout-ms", "3600000"],
    )?)?;
    exchange(&server.addr, "GET", "/", b"")?;
    server.send_sigterm()?;
    let mut status = None;
    wait_until("the idle server exits", || {
        status = server.child.try_wait().ok().flatten();
        status.is_some()
    })?;
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
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
fn the_config_file_sets_worker_config_and_flags_override_it() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let file = data.path().join("edgeplug.toml");
    std::fs::write(
        &file,
        "kv = \"memory\"\n[config]\nupload-token = \"from-the-file\"\n",
    )?;
    let file = file.display().to_string();
    let put = |server: &Server, token: &str| {
        let authorization = format!("Bearer {token}");
        exchange_with(
            &server.addr,
            "PUT",
            "/objects/t.txt",
            &[("authorization", &authorization)],
            b"x",
        )
        .map(|(status, _, _)| status)
    };
    {
        let server = start_command(serve_command(data.path(), &["--config-file", &file])?)?;
        // The file's upload token now guards uploads, over the environment's.
        assert_eq!(put(&server, common::WRITE_TOKEN)?, 401);
        assert_eq!(put(&server, "from-the-file")?, 201);
        // The file chose the memory store: no redb file appears.
        exchange(&server.addr, "GET", "/", b"")?;
        assert!(!data.path().join(".edgeplug-data/kv.redb").exists());
    }
    // A flag overrides the file: its token, and its KV store.
    let server = start_command(serve_command(
        data.path(),
        &[
            "--config-file",
            &file,
            "--config",
            "upload-token=from-the-flag",
            "--kv",
            "flagged.redb",
        ],
    )?)?;
    assert_eq!(put(&server, "from-the-file")?, 401);
    assert_eq!(put(&server, "from-the-flag")?, 201);
    exchange(&server.addr, "GET", "/", b"")?;
    assert!(data.path().join("flagged.redb").exists());
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

// ---------------------------------------------------------------------------
// Safe by default: who may write, through the real binary, on both flavors.
// ---------------------------------------------------------------------------

/// The flags that serve `flavor`'s composed worker.
fn flavor_flags(flavor: &str) -> anyhow::Result<Vec<String>> {
    let name = match flavor {
        "portable" => "worker",
        _ => "worker-fastedge",
    };
    let component = host_test::artifacts::component_path(name)?;
    Ok(vec![
        "--flavor".into(),
        flavor.into(),
        "--component".into(),
        component.display().to_string(),
    ])
}

/// Starts `flavor`'s worker with `flags`, with the write token in the
/// environment unless `token` is false.
fn start_flavor(data: &Path, flavor: &str, token: bool, flags: &[&str]) -> anyhow::Result<Server> {
    let mut all = flavor_flags(flavor)?;
    all.extend(flags.iter().map(|flag| (*flag).to_owned()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let mut command = serve_command(data, &all)?;
    if !token {
        command.env_remove("EDGEPLUG_UPLOAD_TOKEN");
    }
    start_command(command)
}

/// The JSON error code of a body, or what the body was.
fn error_code(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|json| json["error"]["code"].as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("(not a JSON error: {})", String::from_utf8_lossy(body)))
}

/// The presign route, with the size and type a presigned PUT binds.
const PRESIGN: &str = "/objects/p.txt/presign?content_type=text/plain&content_length=5";

#[test]
fn writes_are_closed_without_a_token_on_both_flavors() -> anyhow::Result<()> {
    for flavor in ["portable", "fastedge"] {
        let data = tempfile::tempdir()?;
        let server = start_flavor(data.path(), flavor, false, &[])?;
        assert!(server.printed("writes            closed"), "{flavor}");
        for (method, path) in [
            ("PUT", "/objects/anon.txt"),
            ("POST", PRESIGN),
            ("POST", "/counters/likes?by=1"),
        ] {
            let (status, _, body) = exchange_with(&server.addr, method, path, &[], b"hello")?;
            assert_eq!(status, 403, "{flavor} {method} {path}");
            assert_eq!(
                error_code(&body),
                "writes_not_configured",
                "{flavor} {path}"
            );
            let text = String::from_utf8_lossy(&body);
            assert!(text.contains("upload-token"), "names the setting: {text}");
            // Not even a valid-looking credential opens a deployment with no token.
            let (status, _, _) = exchange(&server.addr, method, path, b"hello")
                .map(|(status, body)| (status, (), body))?;
            assert_eq!(status, 403, "{flavor} {method} {path} with a bearer");
        }
        assert!(!data.path().join("s3/uploads/anon.txt").exists());
        // Reading stays open: page views count for anyone.
        let (status, _, body) = exchange_with(&server.addr, "GET", "/", &[], b"")?;
        assert_eq!(
            (status, &body[..]),
            (200, &b"Page views: 1"[..]),
            "{flavor}"
        );
    }
    Ok(())
}

#[test]
fn the_token_or_the_named_opt_in_opens_writes_on_both_flavors() -> anyhow::Result<()> {
    for flavor in ["portable", "fastedge"] {
        let data = tempfile::tempdir()?;
        {
            let server = start_flavor(data.path(), flavor, true, &[])?;
            let (status, head, _) =
                exchange_with(&server.addr, "PUT", "/objects/t.txt", &[], b"hello")?;
            assert_eq!(status, 401, "{flavor}: no credential");
            assert!(head.contains("www-authenticate: bearer"), "{head}");
            let (status, body) = exchange(&server.addr, "PUT", "/objects/t.txt", b"hello")?;
            assert_eq!(status, 201, "{flavor}: {}", String::from_utf8_lossy(&body));
            let (status, body) = exchange(&server.addr, "POST", PRESIGN, b"")?;
            assert_eq!(status, 200, "{flavor}: {}", String::from_utf8_lossy(&body));
            let (status, body) = exchange(&server.addr, "POST", "/counters/likes?by=2", b"")?;
            assert_eq!(status, 200, "{flavor}: {}", String::from_utf8_lossy(&body));
        }
        let server = start_flavor(
            data.path(),
            flavor,
            false,
            &[
                "--config",
                "allow-anonymous-uploads=true",
                "--config",
                "allow-anonymous-counter-writes=true",
            ],
        )?;
        assert!(server.printed("writes            OPEN"), "{flavor}");
        let (status, _, body) =
            exchange_with(&server.addr, "PUT", "/objects/open.txt", &[], b"hello")?;
        assert_eq!(status, 201, "{flavor}: {}", String::from_utf8_lossy(&body));
        assert_eq!(
            std::fs::read(data.path().join("s3/uploads/open.txt"))?,
            b"hello"
        );
        let (status, _, body) = exchange_with(&server.addr, "POST", PRESIGN, &[], b"")?;
        assert_eq!(status, 200, "{flavor}: {}", String::from_utf8_lossy(&body));
        let (status, _, _) = exchange_with(&server.addr, "POST", "/counters/likes", &[], b"")?;
        assert_eq!(status, 200, "{flavor}");
        server.logged(&["path=/counters/likes"], 1)?;
        server.assert_no_secret_printed();
    }
    Ok(())
}

#[test]
fn a_maximal_increment_cannot_break_page_views_on_both_flavors() -> anyhow::Result<()> {
    for flavor in ["portable", "fastedge"] {
        let data = tempfile::tempdir()?;
        let server = start_flavor(data.path(), flavor, true, &[])?;
        for by in ["18446744073709551615", "9223372036854775807", "101"] {
            let path = format!("/counters/page_views?by={by}");
            let (status, body) = exchange(&server.addr, "POST", &path, b"")?;
            assert_eq!(status, 400, "{flavor} by={by}");
            assert_eq!(error_code(&body), "invalid_input", "{flavor} by={by}");
        }
        for n in 1..=2 {
            let (status, body) = exchange(&server.addr, "GET", "/", b"")?;
            assert_eq!(status, 200, "{flavor}");
            assert_eq!(String::from_utf8(body)?, format!("Page views: {n}"));
        }
    }
    Ok(())
}

#[test]
fn the_public_route_cannot_touch_the_rate_limiters_keys() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let limited = host_test::artifacts::component_path("limited-worker")?;
    let limited = limited.display().to_string();
    let server = start_command(serve_command(
        data.path(),
        &[
            "--component",
            &limited,
            "--config",
            "rate-limit-requests=3",
            "--config",
            "rate-limit-window-seconds=604800",
        ],
    )?)?;
    let victim = [("x-client-ip", "victim")];
    let (status, _, _) = exchange_with(&server.addr, "GET", "/", &victim, b"")?;
    assert_eq!(status, 200);
    let window = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs()
        / 604_800;
    let mut attempt = 0;
    for key in [
        format!("rl:{window}:victim"),
        format!("rl:{}:victim", window + 1),
    ] {
        // Neither reading nor writing: the limiter's names are not public.
        for (method, path) in [
            ("GET", format!("/counters/{key}")),
            ("POST", format!("/counters/{key}?by=100")),
        ] {
            // A fresh client id each time, so the attacker's own limit never
            // answers first.
            attempt += 1;
            let client = format!("attacker-{attempt}");
            let attacker = [
                ("x-client-ip", client.as_str()),
                ("authorization", common::WRITE_AUTHORIZATION),
            ];
            let (status, _, body) = exchange_with(&server.addr, method, &path, &attacker, b"")?;
            assert_eq!(status, 400, "{method} {path}");
            assert_eq!(error_code(&body), "invalid_input", "{method} {path}");
        }
    }
    // The victim's allowance is untouched: two more requests pass, the
    // fourth in the window is limited.
    for _ in 0..2 {
        let (status, _, _) = exchange_with(&server.addr, "GET", "/", &victim, b"")?;
        assert_eq!(status, 200);
    }
    let (status, _, _) = exchange_with(&server.addr, "GET", "/", &victim, b"")?;
    assert_eq!(status, 429);
    Ok(())
}

// ---------------------------------------------------------------------------
// Nothing half-written: cut-off uploads and guests killed mid-upload.
// ---------------------------------------------------------------------------

/// The ids of the local store's open multipart uploads, read from its
/// data folder by a second store over the same folder.
fn open_uploads(data: &Path) -> Vec<String> {
    host_test::LocalS3::without_auth(data.join("s3"))
        .map(|s3| s3.open_multipart_uploads())
        .unwrap_or_default()
}

/// Waits (up to a generous minute) until `condition` holds.
fn wait_until(what: &str, mut condition: impl FnMut() -> bool) -> anyhow::Result<()> {
    let give_up = Instant::now() + Duration::from_secs(60);
    while !condition() {
        anyhow::ensure!(Instant::now() < give_up, "gave up waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Starts a chunked upload of `key` and sends one chunk of six MiB, more
/// than a 5 MiB part, then waits until the store has an open multipart
/// upload for it. Returns the connection, still open.
fn start_chunked_upload(server: &Server, data: &Path, key: &str) -> anyhow::Result<TcpStream> {
    let mut stream = TcpStream::connect(&server.addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    write!(
        stream,
        "PUT /objects/{key} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        server.addr,
        common::WRITE_AUTHORIZATION
    )?;
    let chunk = vec![b'x'; 6 * 1024 * 1024];
    write!(stream, "{:x}\r\n", chunk.len())?;
    stream.write_all(&chunk)?;
    stream.write_all(b"\r\n")?;
    stream.flush()?;
    wait_until("the upload's first part is in", || {
        !open_uploads(data).is_empty()
    })?;
    Ok(stream)
}

/// The local S3 store's address, as `serve` printed it.
#[test]
fn a_client_cut_off_mid_chunked_upload_leaves_no_object_and_no_open_upload() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let server = start_command(serve_command(
        data.path(),
        &["--config", "s3-part-size=5242880"],
    )?)?;
    let stream = start_chunked_upload(&server, data.path(), "cut.bin")?;
    // The client goes away halfway: no final chunk ever comes.
    drop(stream);
    wait_until("the guest has aborted its upload", || {
        open_uploads(data.path()).is_empty()
    })?;
    assert!(!data.path().join("s3/uploads/cut.bin").exists());
    // The server is fine afterwards.
    let (status, _) = exchange(&server.addr, "GET", "/", b"")?;
    assert_eq!(status, 200);
    Ok(())
}

#[test]
fn sweep_removes_the_upload_of_a_guest_killed_at_its_deadline() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let server = start_command(serve_command(
        data.path(),
        &[
            "--request-timeout-ms",
            "3000",
            "--config",
            "s3-part-size=5242880",
        ],
    )?)?;
    let mut stream = start_chunked_upload(&server, data.path(), "stalled.bin")?;
    // The client stalls; the host's deadline kills the guest, mid-upload.
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 504"), "{answer}");
    let left = open_uploads(data.path());
    assert_eq!(left.len(), 1, "the killed guest could not abort");

    let endpoint = server.s3_endpoint()?;
    let sweep = |extra: &[&str]| -> anyhow::Result<(bool, String, String)> {
        let output = Command::new(host_binary()?)
            .args(["s3", "sweep", "--endpoint", &endpoint])
            .args(["--bucket", "uploads", "--access-key-id", "edgeplug-local"])
            .args(extra)
            .env("EDGEPLUG_S3_SECRET", LOCAL_S3_SECRET)
            .output()?;
        Ok((
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        ))
    };
    // Younger than a day: kept.
    let (ok, stdout, stderr) = sweep(&["--older-than", "24h"])?;
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("aborted 0 upload(s); kept 1"), "{stdout}");
    // A dry run names it and aborts nothing.
    let (ok, stdout, stderr) = sweep(&["--older-than", "0s", "--dry-run"])?;
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("would abort stalled.bin"), "{stdout}");
    assert_eq!(open_uploads(data.path()), left);
    // The real sweep aborts it.
    let (ok, stdout, stderr) = sweep(&["--older-than", "0s"])?;
    assert!(ok, "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("aborted stalled.bin (upload {})", left[0])),
        "{stdout}"
    );
    assert!(open_uploads(data.path()).is_empty());
    assert!(!stdout.contains(LOCAL_S3_SECRET) && !stderr.contains(LOCAL_S3_SECRET));
    server.assert_no_secret_printed();
    // A wrong secret is refused by the store, and the sweep fails.
    let output = Command::new(host_binary()?)
        .args([
            "s3",
            "sweep",
            "--endpoint",
            &endpoint,
            "--bucket",
            "uploads",
        ])
        .args(["--access-key-id", "edgeplug-local", "--older-than", "0s"])
        .env("EDGEPLUG_S3_SECRET", "not-the-local-secret")
        .output()?;
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("403"));
    Ok(())
}

// ---------------------------------------------------------------------------
// Every serve flag README names, through the real binary.
// ---------------------------------------------------------------------------

#[test]
fn serve_logs_one_line_per_request() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let server = start(data.path())?;
    let requests = [
        ("GET", "/", 200),
        ("GET", "/nowhere", 404),
        ("PUT", "/objects/logged.txt", 201),
        ("GET", "/counters/page_views", 200),
    ];
    for (n, (method, path, status)) in requests.iter().enumerate() {
        let (got, _) = exchange(&server.addr, method, path, b"hello")?;
        assert_eq!(got, *status, "{method} {path}");
        // Each request's line comes, and no other: the lines so far are
        // exactly one per request, in order.
        let lines = server.logged(&[" request", "method="], n + 1)?;
        assert_eq!(lines.len(), n + 1, "{lines:#?}");
        for ((method, path, status), line) in requests.iter().zip(&lines) {
            assert!(
                line.contains(&format!("method={method}"))
                    && line.contains(&format!("path={path} "))
                    && line.contains(&format!("status={status}")),
                "{line}"
            );
        }
    }
    server.assert_no_secret_printed();
    Ok(())
}

#[test]
fn the_concurrency_flags_queue_then_answer_503_with_retry_after() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let server = start_command(serve_command(
        data.path(),
        &[
            "--max-concurrent-requests",
            "1",
            "--queue-timeout-ms",
            "200",
            "--config",
            "s3-part-size=5242880",
        ],
    )?)?;
    assert!(server.printed("1 requests at once"));
    // An upload in flight holds the only slot.
    let mut upload = start_chunked_upload(&server, data.path(), "slot.bin")?;
    let (status, head, body) = exchange_with(&server.addr, "GET", "/", &[], b"")?;
    assert_eq!(status, 503, "{}", String::from_utf8_lossy(&body));
    assert_eq!(error_code(&body), "overloaded");
    assert!(head.contains("retry-after: 1\r\n"), "{head}");
    // Once the upload ends, the slot is free again.
    upload.write_all(b"0\r\n\r\n")?;
    let mut raw = Vec::new();
    upload.read_to_end(&mut raw)?;
    assert!(
        raw.starts_with(b"HTTP/1.1 201"),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    let (status, _, _) = exchange_with(&server.addr, "GET", "/", &[], b"")?;
    assert_eq!(status, 200);
    Ok(())
}

#[test]
fn max_memory_mib_caps_a_guest_and_the_next_request_succeeds() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    // Enough for routing and counters, not for an 8 MiB part buffer.
    let server = start_command(serve_command(data.path(), &["--max-memory-mib", "6"])?)?;
    assert!(server.printed("6 MiB per memory"));
    let mut stream = TcpStream::connect(&server.addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    // A 20 MiB upload of which only the first 64 KiB are sent: the guest
    // fails on its part buffer, and the answer comes without the rest.
    write!(
        stream,
        "PUT /objects/big.bin HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        server.addr,
        common::WRITE_AUTHORIZATION,
        20 * 1024 * 1024
    )?;
    stream.write_all(&[7u8; 64 * 1024])?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let answer = String::from_utf8_lossy(&raw);
    assert!(answer.starts_with("HTTP/1.1 500"), "{answer}");
    assert!(answer.contains("\"internal\""), "{answer}");
    assert!(!data.path().join("s3/uploads/big.bin").exists());
    let (status, _) = exchange(&server.addr, "GET", "/", b"")?;
    assert_eq!(status, 200);
    Ok(())
}

#[test]
fn the_allocator_flag_chooses_on_demand_allocation() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let server = start_command(serve_command(data.path(), &["--allocator", "on-demand"])?)?;
    assert!(server.printed("on-demand allocator"));
    let (status, _) = exchange(&server.addr, "GET", "/", b"")?;
    assert_eq!(status, 200);
    Ok(())
}
