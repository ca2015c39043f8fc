//! One conformance suite for every KV backend the host offers: memory,
//! the embedded redb store, and Redis. Redis is required: a missing server
//! fails these tests (CI starts one; `cargo xtask test` starts one too).

use std::sync::Arc;

use edgeplug_host::kv::{KvBackend, MemoryKv, RedbKv, RedisKv};

async fn conformance(kv: Arc<dyn KvBackend>, bucket: &str) -> anyhow::Result<()> {
    kv.open(bucket).await?;
    assert_eq!(kv.get(bucket, "missing").await?, None);
    assert!(!kv.exists(bucket, "missing").await?);

    kv.set(bucket, "a", b"alpha".to_vec()).await?;
    assert_eq!(kv.get(bucket, "a").await?, Some(b"alpha".to_vec()));
    assert!(kv.exists(bucket, "a").await?);
    kv.set(bucket, "a", b"again".to_vec()).await?;
    assert_eq!(kv.get(bucket, "a").await?, Some(b"again".to_vec()));
    kv.delete(bucket, "a").await?;
    assert_eq!(kv.get(bucket, "a").await?, None);
    kv.delete(bucket, "a").await?; // deleting twice is fine

    // Counters: created at the delta, stored as ASCII decimal.
    assert_eq!(kv.increment(bucket, "n", 5).await?, 5);
    assert_eq!(kv.increment(bucket, "n", 1).await?, 6);
    assert_eq!(kv.get(bucket, "n").await?, Some(b"6".to_vec()));
    kv.set(bucket, "text", b"not a number".to_vec()).await?;
    assert!(kv.increment(bucket, "text", 1).await.is_err());

    // Buckets are separate.
    let other = format!("{bucket}-other");
    assert_eq!(kv.get(&other, "n").await?, None);

    // list-keys pages through every key exactly once.
    let names: Vec<String> = (0..2500).map(|i| format!("k{i:05}")).collect();
    for name in &names {
        kv.set(&other, name, b"v".to_vec()).await?;
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = kv.list_keys(&other, cursor).await?;
        seen.extend(page.keys);
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen, names);

    // Concurrent increments never lose a count.
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let kv = Arc::clone(&kv);
            let bucket = bucket.to_owned();
            tokio::spawn(async move {
                for _ in 0..50 {
                    kv.increment(&bucket, "hot", 1).await?;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    assert_eq!(kv.get(bucket, "hot").await?, Some(b"3200".to_vec()));
    Ok(())
}

fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{name}-{}-{nanos}", std::process::id())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_backend_conforms() -> anyhow::Result<()> {
    conformance(Arc::new(MemoryKv::new()), "mem").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redb_backend_conforms_and_persists() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("kv.redb");
    conformance(Arc::new(RedbKv::open(&path)?), "disk").await?;
    // Reopening the file finds the counts written before.
    let reopened = RedbKv::open(&path)?;
    assert_eq!(reopened.get("disk", "hot").await?, Some(b"3200".to_vec()));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_backend_conforms() -> anyhow::Result<()> {
    let url =
        std::env::var("EDGEPLUG_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let kv = RedisKv::connect(&url, format!("{}:", unique("edgeplug-test")))
        .await
        .map_err(|e| {
            anyhow::anyhow!("{e:#} (at {url}; `cargo xtask test` starts a Redis for you)")
        })?;
    conformance(Arc::new(kv), "shared").await
}
