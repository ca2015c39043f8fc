//! Host memory stays flat under bad input: 10,000 requests of mixed bad
//! input into the composed worker, each in a fresh instance, leave the
//! host's resident memory where it was after warm-up. One test in its own
//! binary, so no other test's allocations blur the measurement.

mod common;

use bytes::Bytes;
use host_test::HttpWorker;

/// The bad requests, cycled: every error path the entry has, uploads among
/// them (which reach the store and fail there or before).
const BAD: &[(&str, &str, &[u8])] = &[
    ("GET", "/no/such/route", b""),
    ("DELETE", "/", b""),
    ("PATCH", "/counters/x", b"{}"),
    ("POST", "/counters/x?by=abc", b""),
    ("POST", "/counters/x?by=99999999999999999999999", b""),
    ("GET", "/counters/bad%20name", b""),
    ("PUT", "/objects/", b"x"),
    ("PUT", "/objects/a/../b.txt", b"x"),
    ("PUT", "/objects/bad%ZZescape", b"x"),
    ("PUT", "/objects/not-utf8-%FF", b"x"),
    ("POST", "/objects/k/presign?expires=-5", b""),
    ("POST", "/objects/k/presign?expires=99999999", b""),
    ("GET", "/objects/a.txt", b""),
];

/// The process's resident set, in bytes (Linux).
fn resident_bytes() -> anyhow::Result<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm")?;
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("no resident field in {statm:?}"))?
        .parse()?;
    Ok(pages * 4096)
}

async fn send_bad(worker: &HttpWorker, n: usize) -> anyhow::Result<()> {
    for i in 0..n {
        let (method, path, body) = BAD[i % BAD.len()];
        let response = worker
            .request(method, path, Bytes::from_static(body))
            .await
            .map_err(|e| anyhow::anyhow!("{method} {path}: {e:#}"))?;
        anyhow::ensure!(
            response.status.is_client_error(),
            "{method} {path} answered {}: {}",
            response.status,
            response.text()
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_bad_requests_leave_host_memory_flat() -> anyhow::Result<()> {
    let (context, _s3) = common::context_with_s3();
    // Open writes, so that bad input reaches the checks behind the token.
    context.set_config("allow-anonymous-uploads", "true");
    context.set_config("allow-anonymous-counter-writes", "true");
    let worker = HttpWorker::new(
        &common::component("worker"),
        context.with_inherited_stdio(false),
    )?;
    // Warm-up: the pool's slots, the allocator's arenas, lazily built tables.
    send_bad(&worker, 1_000).await?;
    let before = resident_bytes()?;
    send_bad(&worker, 10_000).await?;
    let after = resident_bytes()?;
    let growth = after.saturating_sub(before);
    eprintln!(
        "resident: {:.1} MiB after warm-up, {:.1} MiB after 10,000 bad requests",
        before as f64 / 1048576.0,
        after as f64 / 1048576.0
    );
    // A leak of even 1 KiB per request would be 10 MiB; allocator noise is
    // well under the bound.
    assert!(
        growth < 4 * 1024 * 1024,
        "host memory grew by {:.1} MiB",
        growth as f64 / 1048576.0
    );
    Ok(())
}
