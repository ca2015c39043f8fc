//! The seed's consistency model, tested: edge KV is eventually consistent,
//! with read-your-writes at the local PoP and a propagation delay elsewhere
//! (100–500 ms). Each test picks the PoP every request lands on.
//!
//! - The portable worker over a multi-PoP `wasi:keyvalue` ([`MultiPopKv`])
//!   follows that model exactly.
//! - The FastEdge worker follows what FastEdge really does: counters live in
//!   `cache-sync`, which is local to the PoP and never replicated, while the
//!   `key-value` store is written from outside and reaches every PoP after a
//!   delay.
//!
//! Time is a manual [`SimClock`], so "not yet" and "after 300 ms" are exact.

mod common;

use std::time::Duration;

use bytes::Bytes;
use host_test::kv::DEFAULT_PROPAGATION;
use host_test::{FastEdge, HostContext, HttpWorker, MultiPopKv, Pop, SimClock};

const DELAY: Duration = Duration::from_millis(300);
const MS: Duration = Duration::from_millis(1);

/// One worker per PoP, sharing one host context otherwise.
struct Pops {
    a: HttpWorker,
    b: HttpWorker,
    clock: SimClock,
}

fn workers(component: &str, context: HostContext, clock: SimClock) -> Pops {
    let component = common::component(component);
    let at = |pop: &str| {
        HttpWorker::new(&component, context.at_pop(Pop::new(pop))).expect("the worker links")
    };
    Pops {
        a: at("a"),
        b: at("b"),
        clock,
    }
}

/// The portable worker over two PoPs of one store with a 300 ms delay.
fn portable() -> Pops {
    let clock = SimClock::manual();
    let kv = MultiPopKv::with_clock(DELAY, clock.clone());
    let context = HostContext::new().with_pops(kv);
    // These tests are about counting, not about who may count.
    context.set_config("allow-anonymous-counter-writes", "true");
    workers("worker", context, clock)
}

/// The FastEdge worker over two PoPs; key-value writes take 300 ms.
fn fastedge() -> Pops {
    let clock = SimClock::manual();
    let platform = FastEdge::with_clock(DELAY, clock.clone());
    // These tests are about counting, not about who may count.
    platform.set_app_config("allow-anonymous-counter-writes", "true");
    workers(
        "worker-fastedge",
        HostContext::new().with_fastedge(platform),
        clock,
    )
}

async fn value(worker: &HttpWorker, name: &str) -> anyhow::Result<serde_json::Value> {
    let response = worker.get(&format!("/counters/{name}")).await?;
    assert_eq!(response.status, 200, "{}", response.text());
    Ok(response.json()?["value"].clone())
}

async fn add(worker: &HttpWorker, name: &str, by: u64) -> anyhow::Result<serde_json::Value> {
    let response = worker
        .request("POST", &format!("/counters/{name}?by={by}"), Bytes::new())
        .await?;
    assert_eq!(response.status, 200, "{}", response.text());
    Ok(response.json()?["value"].clone())
}

#[test]
fn the_default_delay_is_in_the_seeds_range() {
    assert!((100 * MS..=500 * MS).contains(&DEFAULT_PROPAGATION));
    assert_eq!(MultiPopKv::default().delay(), DEFAULT_PROPAGATION);
}

#[tokio::test]
async fn portable_a_counter_is_read_your_writes_at_a_and_late_at_b() -> anyhow::Result<()> {
    let pops = portable();
    assert_eq!(add(&pops.a, "hits", 1).await?, 1);
    assert_eq!(value(&pops.a, "hits").await?, 1, "read-your-writes at A");
    assert_eq!(value(&pops.b, "hits").await?, 0, "not yet at B");
    pops.clock.advance(DELAY - MS);
    assert_eq!(value(&pops.b, "hits").await?, 0, "still not at B at 299 ms");
    pops.clock.advance(MS);
    assert_eq!(value(&pops.b, "hits").await?, 1, "at B after 300 ms");
    Ok(())
}

#[tokio::test]
async fn portable_increments_at_two_pops_within_the_delay_diverge_then_converge()
-> anyhow::Result<()> {
    // The model is last-writer-wins: two PoPs incrementing the same counter
    // within the delay each count from what they saw, and the later write
    // wins everywhere. Exact global counts need one PoP (or a central store).
    let pops = portable();
    assert_eq!(add(&pops.a, "hits", 1).await?, 1);
    pops.clock.advance(100 * MS);
    assert_eq!(
        add(&pops.b, "hits", 1).await?,
        1,
        "B had not seen A's write"
    );
    pops.clock.advance(DELAY);
    assert_eq!(value(&pops.a, "hits").await?, 1);
    assert_eq!(value(&pops.b, "hits").await?, 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portable_concurrent_increments_at_one_pop_never_lose_a_count() -> anyhow::Result<()> {
    let pops = portable();
    concurrent_increments(&pops.a, 32).await?;
    assert_eq!(value(&pops.a, "hits").await?, 32);
    pops.clock.advance(DELAY);
    assert_eq!(value(&pops.b, "hits").await?, 32);
    Ok(())
}

#[tokio::test]
async fn fastedge_a_counter_stays_local_to_its_pop() -> anyhow::Result<()> {
    let pops = fastedge();
    assert_eq!(add(&pops.a, "hits", 1).await?, 1);
    assert_eq!(value(&pops.a, "hits").await?, 1, "read-your-writes at A");
    assert_eq!(value(&pops.b, "hits").await?, 0);
    pops.clock.advance(Duration::from_secs(3600));
    assert_eq!(
        value(&pops.b, "hits").await?,
        0,
        "cache-sync never replicates"
    );
    assert_eq!(add(&pops.b, "hits", 5).await?, 5, "B counts on its own");
    assert_eq!(value(&pops.a, "hits").await?, 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fastedge_concurrent_increments_at_one_pop_never_lose_a_count() -> anyhow::Result<()> {
    let pops = fastedge();
    concurrent_increments(&pops.a, 32).await?;
    assert_eq!(value(&pops.a, "hits").await?, 32);
    Ok(())
}

#[tokio::test]
async fn fastedge_a_key_value_write_from_outside_reaches_both_pops_after_the_delay()
-> anyhow::Result<()> {
    let pops = fastedge();
    let platform = pops.a.context().fastedge().clone();
    // Counters read from the read-only key-value store `totals`.
    platform.set_env("KV_READONLY_BUCKETS", "totals");
    platform.set_app_config("kv-bucket", "totals");
    platform.create_store("totals");
    // Gcore's API writes the value.
    platform.publish("totals", "signups", "41");
    for worker in [&pops.a, &pops.b] {
        assert_eq!(value(worker, "signups").await?, 0, "not yet anywhere");
    }
    pops.clock.advance(DELAY);
    for worker in [&pops.a, &pops.b] {
        assert_eq!(
            value(worker, "signups").await?,
            41,
            "at every PoP after 300 ms"
        );
    }
    // Apps only read it: an increment is refused and changes nothing.
    let response = pops
        .a
        .request("POST", "/counters/signups", Bytes::new())
        .await?;
    assert_eq!(response.status, 401, "{}", response.text());
    assert_eq!(response.json()?["error"]["code"], "unauthorized");
    assert_eq!(value(&pops.a, "signups").await?, 41);
    Ok(())
}

async fn concurrent_increments(worker: &HttpWorker, n: usize) -> anyhow::Result<()> {
    let requests = (0..n).map(|_| {
        let worker = worker.clone();
        tokio::spawn(async move { worker.request("POST", "/counters/hits", Bytes::new()).await })
    });
    for response in futures::future::join_all(requests).await {
        let response = response??;
        assert_eq!(response.status, 200, "{}", response.text());
    }
    Ok(())
}
