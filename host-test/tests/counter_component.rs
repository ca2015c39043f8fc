//! The counter component alone, against the fake KV.

mod common;

use host_test::bindings::WitError;
use host_test::kv::{KvError, KvOp};
use host_test::{CounterClient, HostContext};

fn counter() -> (CounterClient, HostContext) {
    let context = HostContext::new();
    let client = CounterClient::new(&common::component("counter"), context.clone()).expect("links");
    (client, context)
}

#[tokio::test]
async fn increments_and_reads_back_as_ascii_decimal() -> anyhow::Result<()> {
    let (counter, context) = counter();
    assert_eq!(counter.increment("page_views", 1).await?, Ok(1));
    assert_eq!(counter.increment("page_views", 41).await?, Ok(42));
    assert_eq!(counter.get("page_views").await?, Ok(42));
    assert_eq!(counter.get("never_touched").await?, Ok(0));
    let kv = context.fake_kv().expect("a fake KV");
    // The seed's layout: the default bucket, the bare name, ASCII decimal.
    assert_eq!(
        kv.backend().get("default", "page_views").await,
        Ok(Some(b"42".to_vec()))
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_concurrent_increments_sum_exactly() -> anyhow::Result<()> {
    let (counter, context) = counter();
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let counter = counter.clone();
            tokio::spawn(async move { counter.increment("hits", 1).await })
        })
        .collect();
    let mut seen = Vec::new();
    for task in tasks {
        seen.push(task.await??.map_err(|e| anyhow::anyhow!("{e:?}"))?);
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=32).collect::<Vec<u64>>(),
        "every increment saw a distinct value"
    );
    assert_eq!(counter.get("hits").await?, Ok(32));
    let kv = context.fake_kv().expect("a fake KV");
    // Atomic increments only: a read-modify-write would show gets and sets.
    assert_eq!(kv.count(KvOp::Increment), 32);
    assert_eq!(kv.count(KvOp::Set), 0);
    Ok(())
}

#[tokio::test]
async fn bucket_and_prefix_come_from_config() -> anyhow::Result<()> {
    let (counter, context) = counter();
    context.set_config("kv-bucket", "pages");
    context.set_config("counter-prefix", "views:");
    assert_eq!(counter.increment("home", 3).await?, Ok(3));
    let kv = context.fake_kv().expect("a fake KV");
    let increment = kv
        .calls()
        .into_iter()
        .find(|c| c.op == KvOp::Increment)
        .expect("a call");
    assert_eq!(increment.bucket, "pages");
    assert_eq!(increment.key.as_deref(), Some("views:home"));
    Ok(())
}

#[tokio::test]
async fn bad_names_are_refused_before_touching_the_store() -> anyhow::Result<()> {
    let (counter, context) = counter();
    let long = "x".repeat(129);
    for name in [
        "",
        "with space",
        "slash/y",
        "tab\there",
        "ünïcode",
        long.as_str(),
    ] {
        match counter.increment(name, 1).await? {
            Err(WitError::InvalidInput(message)) => assert!(!message.is_empty()),
            other => panic!("{name:?}: expected invalid-input, got {other:?}"),
        }
    }
    assert_eq!(counter.increment(&"x".repeat(128), 1).await?, Ok(1));
    let kv = context.fake_kv().expect("a fake KV");
    assert_eq!(
        kv.count(KvOp::Increment),
        1,
        "only the valid name reached the store"
    );
    Ok(())
}

#[tokio::test]
async fn store_failures_become_the_right_error() -> anyhow::Result<()> {
    let (counter, context) = counter();
    let kv = context.fake_kv().expect("a fake KV").clone();

    kv.fail_next(KvOp::Increment, KvError::Other("backend down".into()), 1);
    assert!(matches!(
        counter.increment("a", 1).await?,
        Err(WitError::Unavailable(_))
    ));

    kv.fail_next(KvOp::Get, KvError::AccessDenied, 1);
    assert!(matches!(
        counter.get("a").await?,
        Err(WitError::Unauthorized(_))
    ));

    kv.fail_next(KvOp::Open, KvError::NoSuchStore, 1);
    match counter.get("a").await? {
        Err(WitError::Internal(message)) => assert!(message.contains("default"), "{message}"),
        other => panic!("expected internal, got {other:?}"),
    }

    // After the faults, the store works again and nothing was counted twice.
    assert_eq!(counter.increment("a", 1).await?, Ok(1));
    Ok(())
}

#[tokio::test]
async fn a_value_that_is_not_a_number_is_an_internal_error() -> anyhow::Result<()> {
    let (counter, context) = counter();
    let kv = context.fake_kv().expect("a fake KV");
    kv.backend()
        .set("default", "broken", b"twelve".to_vec())
        .await?;
    assert!(matches!(
        counter.get("broken").await?,
        Err(WitError::Internal(_))
    ));
    Ok(())
}

#[tokio::test]
async fn a_counter_at_the_stores_maximum_is_too_large_carrying_its_value() -> anyhow::Result<()> {
    let (counter, context) = counter();
    let kv = context.fake_kv().expect("a fake KV");
    // The fake KV counts in u64, like most wasi:keyvalue hosts.
    kv.backend()
        .set("default", "pinned", u64::MAX.to_string().into_bytes())
        .await?;
    assert_eq!(
        counter.increment("pinned", 1).await?,
        Err(WitError::TooLarge(u64::MAX))
    );
    // The value is unchanged and still reads back.
    assert_eq!(counter.get("pinned").await?, Ok(u64::MAX));

    // A store failing for another reason, below the maximum, stays a store error.
    kv.fail_next(KvOp::Increment, KvError::Other("backend down".into()), 1);
    assert!(matches!(
        counter.increment("pinned_not", 1).await?,
        Err(WitError::Unavailable(_))
    ));
    Ok(())
}
