//! The host's limits: a request deadline and a per-memory cap. A guest that
//! hits either fails alone; the host keeps serving.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use host_test::bodies::PatternBody;
use host_test::{Fault, FaultyS3, HttpWorker, Matcher, TimedOut};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_its_deadline_times_out_and_the_next_succeeds() -> anyhow::Result<()> {
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
