//! The host's limits: a request deadline and a per-memory cap. A guest that
//! hits either fails alone; the host keeps serving. The `misbehave` test
//! component loops or allocates on request, served as `serve` does.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use edgeplug_host::serve::{ServeOptions, Server};
use futures::StreamExt as _;
use host_test::{Fault, HostContext, HttpWorker, Matcher, TimedOut};

/// Every test here measures a deadline or spins a guest on a core: one test
/// at a time, so no other test's spinning guest delays a deadline being
/// measured on a 2-core machine.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_its_deadline_times_out_and_the_next_succeeds() -> anyhow::Result<()> {
    let _serial = ONE_AT_A_TIME.lock().await;
    let (context, _s3, faults) = common::context_with_faulty_s3();
    context.set_config("allow-anonymous-uploads", "true");
    // A stall nothing but the deadline can end.
    faults.always(Matcher::Any, Fault::Stall(Duration::from_secs(3600)));
    let timeout = Duration::from_millis(300);
    let context = context.with_request_timeout(timeout);
    let worker = HttpWorker::new(&common::component("worker"), context)?;

    let error = worker
        .request("PUT", "/objects/slow.txt", Bytes::from_static(b"x"))
        .await
        .expect_err("a stalled upstream cannot beat the deadline");
    assert_eq!(
        error.downcast_ref::<TimedOut>(),
        Some(&TimedOut(timeout)),
        "{error:#}"
    );

    faults.clear();
    assert_eq!(worker.get("/").await?.text(), "Page views: 1");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_growing_past_the_memory_cap_fails_alone() -> anyhow::Result<()> {
    let _serial = ONE_AT_A_TIME.lock().await;
    let (context, s3) = common::context_with_s3();
    // Enough for routing and counters, not for an 8 MiB part buffer.
    let context = context
        .with_memory_limit(6 * 1024 * 1024)
        .with_inherited_stdio(false);
    context.set_config("allow-anonymous-uploads", "true");
    let worker = HttpWorker::new(&common::component("worker"), context)?;
    let addr = serve_worker(worker.clone(), ServeOptions::default()).await?;
    assert_eq!(get(addr, "/").await?.status, 200);

    // A 20 MiB upload whose first 64 KiB arrive and the rest never: the
    // guest fails on its part buffer long before, and the answer must not
    // race a client still pushing bytes into a closed connection.
    let first = futures::stream::iter([Ok::<_, std::convert::Infallible>(http_body::Frame::data(
        Bytes::from(vec![7u8; 64 * 1024]),
    ))]);
    let body = http_body_util::StreamBody::new(first.chain(futures::stream::pending()));
    let response = send(
        addr,
        http::Request::put("/objects/big.bin")
            .header(http::header::CONTENT_LENGTH, 20 * 1024 * 1024)
            .body(body)?,
    )
    .await?;
    // What README promises: a 500 `internal`, never a hang or a reset.
    assert_eq!(response.status, 500, "{}", response.body);
    assert_eq!(response.body["error"]["code"], "internal");
    assert_eq!(s3.object("big.bin"), None);
    assert!(worker.context().peak_memory().largest_memory() <= 6 * 1024 * 1024);
    // The host and the next request are fine.
    assert_eq!(get(addr, "/").await?.text, "Page views: 2");
    Ok(())
}

/// Serves `worker` on a free loopback port, as `edgeplug-host serve` would.
async fn serve_worker(
    worker: HttpWorker,
    options: ServeOptions,
) -> anyhow::Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = Server::new(worker, options);
    tokio::spawn(server.run(listener, std::future::pending()));
    Ok(addr)
}

/// Serves the `misbehave` test component with `context` on a free loopback
/// port, as `edgeplug-host serve` would.
async fn serve_misbehave(context: HostContext) -> anyhow::Result<std::net::SocketAddr> {
    let worker = HttpWorker::new(&common::component("misbehave"), context)?;
    serve_worker(worker, ServeOptions::default()).await
}

/// An answer over TCP: status, headers, the body as JSON (`Null` if it is
/// not JSON) and as text.
struct Answer {
    status: u16,
    headers: http::HeaderMap,
    body: serde_json::Value,
    text: String,
}

/// Sends `request` over a fresh connection and reads the whole answer.
async fn send<B>(addr: std::net::SocketAddr, request: http::Request<B>) -> anyhow::Result<Answer>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let (mut parts, body) = request.into_parts();
    parts
        .headers
        .insert(http::header::HOST, addr.to_string().parse()?);
    let response = sender
        .send_request(http::Request::from_parts(parts, body))
        .await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await?
        .to_bytes();
    Ok(Answer {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
        text: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

/// `GET path` over a fresh connection.
async fn get(addr: std::net::SocketAddr, path: &str) -> anyhow::Result<Answer> {
    send(
        addr,
        http::Request::get(path).body(http_body_util::Empty::<Bytes>::new())?,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_looping_forever_is_interrupted_with_a_504_and_the_next_succeeds()
-> anyhow::Result<()> {
    let _serial = ONE_AT_A_TIME.lock().await;
    let deadline = Duration::from_millis(500);
    let context = HostContext::new().with_request_timeout(deadline);
    let addr = serve_misbehave(context).await?;
    assert_eq!(get(addr, "/").await?.status, 200);

    for _ in 0..3 {
        // The guest never returns by itself: a 504 means the host stopped it.
        // How close to the deadline it came is the bench's to report.
        let answer = get(addr, "/loop").await?;
        assert_eq!(answer.status, 504, "{}", answer.text);
        assert_eq!(answer.body["error"]["code"], "timeout");
        // The interrupted instance is gone; the host answers the next one.
        assert_eq!(get(addr, "/").await?.status, 200);
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
        let answer = get(addr, "/alloc").await?;
        assert_eq!(answer.status, 500, "{}", answer.text);
        assert_eq!(answer.body["error"]["code"], "internal");
        assert_eq!(get(addr, "/").await?.status, 200);
    }
    let peak = context.peak_memory().largest_memory();
    assert!(peak <= limit, "no memory grew past the limit: {peak}");
    assert!(peak > limit / 2, "the guest really tried: {peak}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_concurrency_cap_a_request_waits_then_gets_a_503_with_retry_after()
-> anyhow::Result<()> {
    let _serial = ONE_AT_A_TIME.lock().await;
    let context = HostContext::new().with_request_timeout(Duration::from_millis(1500));
    let options = ServeOptions {
        max_concurrent_requests: 1,
        queue_timeout: Duration::from_millis(200),
        ..ServeOptions::default()
    };
    let worker = HttpWorker::new(&common::component("misbehave"), context)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = Server::new(worker, options);
    tokio::spawn(server.clone().run(listener, std::future::pending()));

    // One looping request holds the only slot until its deadline.
    let busy = tokio::spawn(get(addr, "/loop"));
    let give_up = Instant::now() + Duration::from_secs(60);
    while server.requests_in_flight() == 0 {
        anyhow::ensure!(
            Instant::now() < give_up,
            "the looping request never started"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let answer = get(addr, "/").await?;
    assert_eq!(answer.status, 503, "{}", answer.text);
    assert_eq!(answer.body["error"]["code"], "overloaded");
    assert_eq!(
        answer
            .headers
            .get(http::header::RETRY_AFTER)
            .map(|v| v.as_bytes()),
        Some(&b"1"[..])
    );

    assert_eq!(busy.await??.status, 504);
    // The slot is free again.
    assert_eq!(get(addr, "/").await?.status, 200);
    Ok(())
}
