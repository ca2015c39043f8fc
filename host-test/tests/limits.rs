//! The host's limits: a request deadline and a per-memory cap. A guest that
//! hits either fails alone; the host keeps serving. The `misbehave` test
//! component loops or allocates on request, served as `serve` does.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use host_test::bodies::PatternBody;
use host_test::serve::{ServeOptions, Server};
use host_test::{Fault, FaultyS3, HostContext, HttpWorker, Matcher, TimedOut};

/// Every test here measures a deadline or spins a guest on a core: one test
/// at a time, so no other test's spinning guest delays a deadline being
/// measured on a 2-core machine.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_its_deadline_times_out_and_the_next_succeeds() -> anyhow::Result<()> {
    let _serial = ONE_AT_A_TIME.lock().await;
    let (context, s3) = common::context_with_s3();
    let faults = FaultyS3::new(Arc::new(s3.s3.clone()));
    context
        .outbound()
        .route(common::S3_AUTHORITY, Arc::new(faults.clone()));
    faults.always(Matcher::Any, Fault::Stall(Duration::from_secs(10)));
    let timeout = Duration::from_millis(300);
    let context = context.with_request_timeout(timeout);
    let worker = HttpWorker::new(&common::component("worker"), context)?;

    let started = Instant::now();
    let error = worker
        .request("PUT", "/objects/slow.txt", Bytes::from_static(b"x"))
        .await
        .expect_err("a stalled upstream cannot beat the deadline");
    let elapsed = started.elapsed();
    assert_eq!(
        error.downcast_ref::<TimedOut>(),
        Some(&TimedOut(timeout)),
        "{error:#}"
    );
    // Far from the 10 s stall: the deadline, not the upstream, ended it.
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");

    faults.clear();
    assert_eq!(worker.get("/").await?.text(), "Page views: 1");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_growing_past_the_memory_cap_fails_alone() -> anyhow::Result<()> {
    let _serial = ONE_AT_A_TIME.lock().await;
    let (context, s3) = common::context_with_s3();
    // Enough for routing and counters, not for an 8 MiB part buffer.
    let context = context.with_memory_limit(6 * 1024 * 1024);
    let worker = HttpWorker::new(&common::component("worker"), context)?;
    assert_eq!(worker.get("/").await?.status, 200);

    let len = 20 * 1024 * 1024;
    let request = http::Request::put("http://localhost/objects/big.bin")
        .header("content-length", len)
        .body(PatternBody::new(len))?;
    let outcome = worker.send(request).await;
    match outcome {
        Err(_) => {}
        Ok(response) => assert!(response.status.is_server_error(), "{}", response.text()),
    }
    assert_eq!(s3.object("big.bin"), None);
    assert!(worker.context().peak_memory().largest_memory() <= 6 * 1024 * 1024);
    // The host and the next request are fine.
    assert_eq!(worker.get("/").await?.text(), "Page views: 2");
    Ok(())
}

/// Serves the `misbehave` test component with `context` on a free loopback
/// port, as `edgeplug-host serve` would.
async fn serve_misbehave(context: HostContext) -> anyhow::Result<std::net::SocketAddr> {
    serve_misbehave_with(context, ServeOptions::default()).await
}

async fn serve_misbehave_with(
    context: HostContext,
    options: ServeOptions,
) -> anyhow::Result<std::net::SocketAddr> {
    let worker = HttpWorker::new(&common::component("misbehave"), context)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = Server::new(worker, options);
    tokio::spawn(server.run(listener, std::future::pending()));
    Ok(addr)
}

/// `GET path` over a fresh connection: the status, the body, and how long
/// the answer took.
async fn get(
    addr: std::net::SocketAddr,
    path: &str,
) -> anyhow::Result<(u16, serde_json::Value, Duration)> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let request = http::Request::get(path)
        .header(http::header::HOST, addr.to_string())
        .body(http_body_util::Empty::<Bytes>::new())?;
    let started = Instant::now();
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await?
        .to_bytes();
    let elapsed = started.elapsed();
    let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    Ok((status, json, elapsed))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_looping_forever_gets_a_504_within_the_deadline_and_the_next_succeeds()
-> anyhow::Result<()> {
    let _serial = ONE_AT_A_TIME.lock().await;
    let deadline = Duration::from_millis(500);
    let context = HostContext::new().with_request_timeout(deadline);
    let addr = serve_misbehave(context).await?;
    assert_eq!(get(addr, "/").await?.0, 200);

    for _ in 0..3 {
        let (status, body, elapsed) = get(addr, "/loop").await?;
        eprintln!("a looping guest answered {status} after {elapsed:?}");
        assert_eq!(status, 504, "{body}");
        assert_eq!(body["error"]["code"], "timeout");
        assert!(elapsed >= deadline, "not before the deadline: {elapsed:?}");
        assert!(
            elapsed <= deadline + Duration::from_millis(100),
            "within the deadline plus 100 ms: {elapsed:?}"
        );
        // The interrupted instance is gone; the host answers the next one.
        assert_eq!(get(addr, "/").await?.0, 200);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_allocating_past_the_limit_gets_a_500_and_the_host_keeps_serving()
-> anyhow::Result<()> {
    let _serial = ONE_AT_A_TIME.lock().await;
    let limit = 32 * 1024 * 1024;
    let context = HostContext::new()
        .with_memory_limit(limit)
        // Its allocator reports the failure on stderr: expected here.
        .with_inherited_stdio(false);
    let addr = serve_misbehave(context.clone()).await?;
    for _ in 0..3 {
        let (status, body, _) = get(addr, "/alloc").await?;
        assert_eq!(status, 500, "{body}");
        assert_eq!(body["error"]["code"], "internal");
        assert_eq!(get(addr, "/").await?.0, 200);
    }
    let peak = context.peak_memory().largest_memory();
    assert!(peak <= limit, "no memory grew past the limit: {peak}");
    assert!(peak > limit / 2, "the guest really tried: {peak}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_concurrency_cap_a_request_waits_then_gets_a_503() -> anyhow::Result<()> {
    let _serial = ONE_AT_A_TIME.lock().await;
    let context = HostContext::new().with_request_timeout(Duration::from_millis(1500));
    let options = ServeOptions {
        max_concurrent_requests: 1,
        queue_timeout: Duration::from_millis(200),
        ..ServeOptions::default()
    };
    let addr = serve_misbehave_with(context, options).await?;
    // One request holds the only slot for 1.5 s.
    let busy = tokio::spawn(get(addr, "/loop"));
    tokio::time::sleep(Duration::from_millis(300)).await;

    let (status, body, elapsed) = get(addr, "/").await?;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "overloaded");
    assert!(
        elapsed >= Duration::from_millis(200),
        "it waited: {elapsed:?}"
    );

    assert_eq!(busy.await??.0, 504);
    // The slot is free again.
    assert_eq!(get(addr, "/").await?.0, 200);
    Ok(())
}
