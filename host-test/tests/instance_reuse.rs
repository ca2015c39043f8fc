//! Instance reuse (`HttpWorker::with_instance_reuse`, `serve
//! --requests-per-instance`): off by default; when on, an instance answers
//! up to its limit one request after another, request B sees nothing the
//! host handed request A, config and auth are checked afresh, and an
//! instance that trapped, timed out, hit the memory cap, grew too much or
//! idled past its timeout is never used again.
//!
//! The `misbehave` test component answers `GET /instance` with how many
//! requests its instance has answered (a guest global): 1 means a fresh
//! instance.

mod common;

use std::time::Duration;

use edgeplug_host::serve::{ServeOptions, Server};
use host_test::load::{self, LoadPlan, Until};
use host_test::{HostContext, HttpWorker, InstanceReuse, InstanceStats, Request, TimedOut};

/// The `misbehave` component with `reuse`, guests' output kept quiet.
fn misbehave(context: HostContext, reuse: InstanceReuse) -> anyhow::Result<HttpWorker> {
    let context = context.with_inherited_stdio(false);
    Ok(HttpWorker::new(&common::component("misbehave"), context)?.with_instance_reuse(reuse))
}

/// What `GET /instance` answers: the requests its instance has answered.
async fn instance_count(worker: &HttpWorker) -> anyhow::Result<u64> {
    let response = worker.get("/instance").await?;
    anyhow::ensure!(response.status == 200, "GET /instance: {}", response.status);
    Ok(response.text().parse()?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_gets_a_fresh_instance_by_default() -> anyhow::Result<()> {
    let worker = HttpWorker::new(&common::component("misbehave"), HostContext::new())?;
    assert!(!worker.instance_reuse().enabled());
    for _ in 0..3 {
        assert_eq!(instance_count(&worker).await?, 1);
    }
    assert_eq!(
        worker.instance_stats(),
        InstanceStats {
            started: 3,
            reused: 0,
            idle: 0
        }
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_answers_up_to_its_limit_then_a_fresh_one_starts() -> anyhow::Result<()> {
    let worker = misbehave(HostContext::new(), InstanceReuse::up_to(3))?;
    let mut counts = Vec::new();
    for _ in 0..5 {
        counts.push(instance_count(&worker).await?);
    }
    assert_eq!(counts, [1, 2, 3, 1, 2]);
    let stats = worker.instance_stats();
    assert_eq!((stats.started, stats.reused, stats.idle), (2, 3, 1));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_b_on_a_reused_instance_sees_nothing_of_request_a() -> anyhow::Result<()> {
    let worker = misbehave(HostContext::new(), InstanceReuse::up_to(10))?;
    let echo = |headers: &[(&str, &str)], body: &'static str| {
        let mut request = Request::post("/echo").body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let worker = worker.clone();
        async move { anyhow::Ok(request.send(&worker).await?.text()) }
    };
    let a = echo(
        &[
            ("authorization", "Bearer token-of-A"),
            ("x-only-in-a", "header-of-A"),
        ],
        "body-of-A",
    )
    .await?;
    // The echo works: A saw its own request.
    for seen in ["token-of-A", "header-of-A", "body-of-A"] {
        assert!(a.contains(seen), "A's echo lacks {seen}");
    }
    let b = echo(&[("x-only-in-b", "header-of-B")], "body-of-B").await?;
    assert_eq!(
        worker.instance_stats().started,
        1,
        "B must have run on A's instance"
    );
    assert!(b.contains("header-of-B") && b.contains("body-of-B"), "{b}");
    for leaked in ["token-of-A", "header-of-A", "x-only-in-a", "body-of-A"] {
        assert!(!b.contains(leaked), "B saw {leaked} from A");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_instance_checks_the_token_and_reads_config_afresh() -> anyhow::Result<()> {
    const FIRST_TOKEN: &str = "first-token-Rt5";
    const SECOND_TOKEN: &str = "second-token-Wq8";
    let context = HostContext::new();
    context.set_config("upload-token", FIRST_TOKEN);
    let worker = HttpWorker::new(&common::component("worker"), context.clone())?
        .with_instance_reuse(InstanceReuse::up_to(100));
    let increment = |token: Option<&'static str>| {
        let worker = worker.clone();
        async move {
            let mut request = Request::post("/counters/likes?by=1");
            if let Some(token) = token {
                request = request.header("authorization", format!("Bearer {token}"));
            }
            anyhow::Ok(request.send(&worker).await?.status.as_u16())
        }
    };
    assert_eq!(increment(Some(FIRST_TOKEN)).await?, 200);
    // The instance that accepted the token does not remember it.
    assert_eq!(increment(None).await?, 401);
    // A config change applies from the next request on, reused or not.
    context.set_config("upload-token", SECOND_TOKEN);
    assert_eq!(increment(Some(FIRST_TOKEN)).await?, 401);
    assert_eq!(increment(Some(SECOND_TOKEN)).await?, 200);
    let stats = worker.instance_stats();
    assert_eq!((stats.started, stats.reused), (1, 3), "{stats:?}");
    assert_eq!(worker.get("/counters/likes").await?.json()?["value"], 2);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trapped_instance_is_never_reused() -> anyhow::Result<()> {
    let worker = misbehave(HostContext::new(), InstanceReuse::up_to(100))?;
    assert_eq!(instance_count(&worker).await?, 1);
    // /trap runs on the instance that just answered, and kills it.
    worker
        .get("/trap")
        .await
        .expect_err("a trap is an error, not an answer");
    assert_eq!(instance_count(&worker).await?, 1, "a fresh instance");
    assert_eq!(worker.instance_stats().started, 2);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_instance_is_never_reused() -> anyhow::Result<()> {
    let timeout = Duration::from_millis(300);
    let context = HostContext::new().with_request_timeout(timeout);
    let worker = misbehave(context, InstanceReuse::up_to(100))?;
    assert_eq!(instance_count(&worker).await?, 1);
    let error = worker
        .get("/loop")
        .await
        .expect_err("a guest that loops forever cannot answer");
    assert_eq!(error.downcast_ref::<TimedOut>(), Some(&TimedOut(timeout)));
    assert_eq!(instance_count(&worker).await?, 1, "a fresh instance");
    // The new instance is reused as usual, each request with its own
    // deadline.
    assert_eq!(instance_count(&worker).await?, 2);
    assert_eq!(worker.instance_stats().started, 2);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_refused_memory_is_never_reused_even_if_it_answered() -> anyhow::Result<()> {
    let context = HostContext::new().with_memory_limit(8 << 20);
    let worker = misbehave(context, InstanceReuse::up_to(100))?;
    assert_eq!(instance_count(&worker).await?, 1);
    // The guest copes with the refusal and answers 200 all the same.
    let hold = worker.get("/hold?mib=16").await?;
    assert_eq!(
        (hold.status.as_u16(), hold.text().as_str()),
        (200, "refused")
    );
    assert_eq!(instance_count(&worker).await?, 1, "a fresh instance");
    assert_eq!(worker.instance_stats().started, 2);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_whose_memory_grew_past_the_bound_is_retired() -> anyhow::Result<()> {
    let reuse = InstanceReuse::up_to(100).with_max_memory_growth(6 << 20);
    let worker = misbehave(HostContext::new(), reuse)?;
    assert_eq!(instance_count(&worker).await?, 1);
    // A little growth is fine: the instance goes on.
    assert_eq!(worker.get("/hold?mib=1").await?.text(), "held");
    assert_eq!(instance_count(&worker).await?, 3);
    // Past the bound, it is retired once it has answered.
    assert_eq!(worker.get("/hold?mib=8").await?.text(), "held");
    assert_eq!(instance_count(&worker).await?, 1, "a fresh instance");
    assert_eq!(worker.instance_stats().started, 2);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_instance_is_dropped_after_the_idle_timeout() -> anyhow::Result<()> {
    let reuse = InstanceReuse::up_to(100).with_idle_timeout(Duration::from_millis(50));
    let worker = misbehave(HostContext::new(), reuse)?;
    assert_eq!(instance_count(&worker).await?, 1);
    // The sweeper drops it; waited on, with a generous give-up time.
    let give_up = tokio::time::Instant::now() + Duration::from_secs(60);
    while worker.instance_stats().idle > 0 {
        anyhow::ensure!(
            tokio::time::Instant::now() < give_up,
            "the idle instance was never dropped"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(instance_count(&worker).await?, 1, "a fresh instance");
    assert_eq!(worker.instance_stats().started, 2);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_served_worker_reusing_instances_loses_no_count_under_load() -> anyhow::Result<()> {
    let context = HostContext::new().with_inherited_stdio(false);
    context.set_config("allow-anonymous-counter-writes", "true");
    let worker = HttpWorker::new(&common::component("worker"), context)?
        .with_instance_reuse(InstanceReuse::up_to(1000).with_max_idle(8));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = Server::new(worker.clone(), ServeOptions::default());
    tokio::spawn(server.run(listener, std::future::pending()));

    let plan = LoadPlan::get(vec![addr], 8, Until::Requests(100), "/counters/load")
        .with_method(http::Method::POST);
    let report = load::run(&plan).await?;
    assert_eq!(report.successes(), 800, "{report:?}");
    assert_eq!(worker.get("/counters/load").await?.json()?["value"], 800);
    let stats = worker.instance_stats();
    // Every request ran on exactly one instance, and most on reused ones.
    assert_eq!(stats.started + stats.reused, 801, "{stats:?}");
    assert!(stats.reused > stats.started, "{stats:?}");
    Ok(())
}
