//! The two FastEdge adapter components alone, over the host's
//! `gcore:fastedge/*` fakes: `fastedge-kv` (`wasi:keyvalue` over
//! `cache-sync` and `key-value`) and `fastedge-config` (`wasi:config` over
//! `secret` and `dictionary`).

mod common;

use std::time::Duration;

use host_test::fastedge::bindings::config_adapter::FastedgeConfigAdapter;
use host_test::fastedge::bindings::config_adapter::exports::wasi::config::store::Error as ConfigError;
use host_test::fastedge::bindings::kv_adapter::FastedgeKvAdapter;
use host_test::fastedge::bindings::kv_adapter::exports::wasi::keyvalue::store::{
    Error as KvError, KeyResponse,
};
use host_test::fastedge::{CacheError, SECRET_KEYS};
use host_test::{FastEdge, FastEdgeOp, HostContext, HostState, Pop, SimClock, linker};
use wasmtime::Store;
use wasmtime::component::ResourceAny;

const DELAY: Duration = Duration::from_millis(300);

/// `fastedge-kv` instantiated at one PoP, with the calls it exports.
struct Kv {
    store: Store<HostState>,
    adapter: FastedgeKvAdapter,
}

impl Kv {
    async fn at(context: &HostContext, pop: &str) -> Self {
        let mut store = context.at_pop(Pop::new(pop)).new_store();
        let component = common::component("fastedge-kv");
        let adapter = FastedgeKvAdapter::instantiate_async(
            &mut store,
            &component,
            &linker().expect("a linker"),
        )
        .await
        .expect("fastedge-kv links against the FastEdge fakes alone");
        Self { store, adapter }
    }

    async fn open(&mut self, bucket: &str) -> Result<ResourceAny, KvError> {
        self.adapter
            .wasi_keyvalue_store()
            .call_open(&mut self.store, bucket)
            .await
            .expect("no trap")
    }

    async fn get(&mut self, bucket: ResourceAny, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        let guest = self.adapter.wasi_keyvalue_store().bucket();
        guest
            .call_get(&mut self.store, bucket, key)
            .await
            .expect("no trap")
    }

    async fn set(&mut self, bucket: ResourceAny, key: &str, value: &[u8]) -> Result<(), KvError> {
        let guest = self.adapter.wasi_keyvalue_store().bucket();
        guest
            .call_set(&mut self.store, bucket, key, value)
            .await
            .expect("no trap")
    }

    async fn delete(&mut self, bucket: ResourceAny, key: &str) -> Result<(), KvError> {
        let guest = self.adapter.wasi_keyvalue_store().bucket();
        guest
            .call_delete(&mut self.store, bucket, key)
            .await
            .expect("no trap")
    }

    async fn exists(&mut self, bucket: ResourceAny, key: &str) -> Result<bool, KvError> {
        let guest = self.adapter.wasi_keyvalue_store().bucket();
        guest
            .call_exists(&mut self.store, bucket, key)
            .await
            .expect("no trap")
    }

    async fn list_keys(
        &mut self,
        bucket: ResourceAny,
        cursor: Option<u64>,
    ) -> Result<KeyResponse, KvError> {
        let guest = self.adapter.wasi_keyvalue_store().bucket();
        guest
            .call_list_keys(&mut self.store, bucket, cursor)
            .await
            .expect("no trap")
    }

    async fn increment(
        &mut self,
        bucket: ResourceAny,
        key: &str,
        delta: u64,
    ) -> Result<u64, KvError> {
        self.adapter
            .wasi_keyvalue_atomics()
            .call_increment(&mut self.store, bucket, key, delta)
            .await
            .expect("no trap")
    }
}

fn platform() -> (HostContext, FastEdge) {
    let platform = FastEdge::with_clock(DELAY, SimClock::manual());
    (HostContext::new().with_fastedge(platform.clone()), platform)
}

#[tokio::test]
async fn a_bucket_is_a_prefix_of_the_pops_cache() -> anyhow::Result<()> {
    let (context, platform) = platform();
    let mut kv = Kv::at(&context, "a").await;
    let bucket = kv.open("sessions").await.expect("opens");
    kv.set(bucket, "u1", b"hello").await.expect("sets");
    assert_eq!(
        platform.cache_value(&Pop::new("a"), "sessions/u1"),
        Some(b"hello".to_vec())
    );
    assert_eq!(kv.get(bucket, "u1").await, Ok(Some(b"hello".to_vec())));
    assert_eq!(kv.exists(bucket, "u1").await, Ok(true));
    let other = kv.open("other").await.expect("opens");
    assert_eq!(
        kv.get(other, "u1").await,
        Ok(None),
        "buckets do not share keys"
    );
    kv.delete(bucket, "u1").await.expect("deletes");
    assert_eq!(kv.exists(bucket, "u1").await, Ok(false));
    // Another PoP's cache never sees it.
    platform.seed_cache(&Pop::new("a"), "sessions/u2", "x");
    let mut at_b = Kv::at(&context, "b").await;
    let bucket_b = at_b.open("sessions").await.expect("opens");
    assert_eq!(at_b.get(bucket_b, "u2").await, Ok(None));
    Ok(())
}

#[tokio::test]
async fn increments_are_cache_incr_in_ascii_decimal() -> anyhow::Result<()> {
    let (context, platform) = platform();
    let mut kv = Kv::at(&context, "a").await;
    let bucket = kv.open("default").await.expect("opens");
    assert_eq!(kv.increment(bucket, "page_views", 1).await, Ok(1));
    assert_eq!(kv.increment(bucket, "page_views", 41).await, Ok(42));
    assert_eq!(kv.get(bucket, "page_views").await, Ok(Some(b"42".to_vec())));
    assert_eq!(platform.count(FastEdgeOp::CacheIncr), 2);
    assert_eq!(
        platform.count(FastEdgeOp::CacheSet),
        0,
        "never a read-modify-write"
    );
    Ok(())
}

#[tokio::test]
async fn increments_refuse_what_s64_cannot_carry() -> anyhow::Result<()> {
    let (context, platform) = platform();
    let mut kv = Kv::at(&context, "a").await;
    let bucket = kv.open("default").await.expect("opens");
    match kv.increment(bucket, "n", u64::MAX).await {
        Err(KvError::Other(message)) => assert!(message.contains("delta"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        platform.count(FastEdgeOp::CacheIncr),
        0,
        "refused before the call"
    );
    platform.seed_cache(&Pop::new("a"), "default/neg", "-3");
    match kv.increment(bucket, "neg", 1).await {
        Err(KvError::Other(message)) => assert!(message.contains("negative"), "{message}"),
        other => panic!("{other:?}"),
    }
    platform.seed_cache(&Pop::new("a"), "default/text", "seven");
    assert!(matches!(
        kv.increment(bucket, "text", 1).await,
        Err(KvError::Other(_))
    ));
    Ok(())
}

#[tokio::test]
async fn cache_buckets_cannot_list_keys() -> anyhow::Result<()> {
    let (context, _) = platform();
    let mut kv = Kv::at(&context, "a").await;
    let bucket = kv.open("default").await.expect("opens");
    match kv.list_keys(bucket, None).await {
        Err(KvError::Other(message)) => assert!(message.contains("not supported"), "{message}"),
        other => panic!("{other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn a_failing_cache_is_an_other_error_and_never_a_trap() -> anyhow::Result<()> {
    let (context, platform) = platform();
    let mut kv = Kv::at(&context, "a").await;
    let bucket = kv.open("default").await.expect("opens");
    platform.fail_cache(CacheError::Internal);
    assert!(matches!(
        kv.increment(bucket, "n", 1).await,
        Err(KvError::Other(_))
    ));
    platform.fail_cache(CacheError::AccessDenied);
    assert_eq!(kv.get(bucket, "n").await, Err(KvError::AccessDenied));
    platform.clear_cache_fault();
    assert_eq!(kv.increment(bucket, "n", 1).await, Ok(1));
    Ok(())
}

#[tokio::test]
async fn bad_bucket_identifiers_name_no_store() -> anyhow::Result<()> {
    let (context, _) = platform();
    let mut kv = Kv::at(&context, "a").await;
    assert_eq!(kv.open("a/b").await, Err(KvError::NoSuchStore));
    assert_eq!(kv.open("").await, Err(KvError::NoSuchStore));
    Ok(())
}

#[tokio::test]
async fn a_read_only_bucket_reads_the_replicated_store_and_refuses_writes() -> anyhow::Result<()> {
    let (context, platform) = platform();
    platform.set_env("KV_READONLY_BUCKETS", "tenants, flags");
    platform.publish("flags", "beta", "on");
    platform.publish("flags", "alpha", "off");
    platform.clock().advance(DELAY);
    let mut kv = Kv::at(&context, "a").await;
    let flags = kv.open("flags").await.expect("opens");
    assert_eq!(kv.get(flags, "beta").await, Ok(Some(b"on".to_vec())));
    assert_eq!(kv.exists(flags, "alpha").await, Ok(true));
    assert_eq!(kv.exists(flags, "gamma").await, Ok(false));
    assert_eq!(
        kv.list_keys(flags, None).await,
        Ok(KeyResponse {
            keys: vec!["alpha".into(), "beta".into()],
            cursor: None
        })
    );
    assert_eq!(
        kv.set(flags, "beta", b"off").await,
        Err(KvError::AccessDenied)
    );
    assert_eq!(kv.delete(flags, "beta").await, Err(KvError::AccessDenied));
    assert_eq!(
        kv.increment(flags, "beta", 1).await,
        Err(KvError::AccessDenied)
    );
    assert_eq!(kv.get(flags, "beta").await, Ok(Some(b"on".to_vec())));
    for op in [
        FastEdgeOp::CacheSet,
        FastEdgeOp::CacheDelete,
        FastEdgeOp::CacheIncr,
    ] {
        assert_eq!(platform.count(op), 0, "nothing reached the cache");
    }
    // A listed bucket FastEdge has no store for names no store.
    assert_eq!(kv.open("tenants").await, Err(KvError::NoSuchStore));
    Ok(())
}

#[tokio::test]
async fn a_published_value_reaches_the_adapter_only_after_the_delay() -> anyhow::Result<()> {
    let (context, platform) = platform();
    platform.set_env("KV_READONLY_BUCKETS", "flags");
    platform.publish("flags", "beta", "on");
    let mut kv = Kv::at(&context, "b").await;
    let flags = kv.open("flags").await.expect("opens");
    assert_eq!(kv.get(flags, "beta").await, Ok(None));
    platform.clock().advance(DELAY);
    assert_eq!(kv.get(flags, "beta").await, Ok(Some(b"on".to_vec())));
    Ok(())
}

/// `fastedge-config` instantiated once.
struct Config {
    store: Store<HostState>,
    adapter: FastedgeConfigAdapter,
}

impl Config {
    async fn new(context: &HostContext) -> Self {
        let mut store = context.new_store();
        let component = common::component("fastedge-config");
        let adapter = FastedgeConfigAdapter::instantiate_async(
            &mut store,
            &component,
            &linker().expect("a linker"),
        )
        .await
        .expect("fastedge-config links against the FastEdge fakes alone");
        Self { store, adapter }
    }

    async fn get(&mut self, key: &str) -> Result<Option<String>, ConfigError> {
        self.adapter
            .wasi_config_store()
            .call_get(&mut self.store, key)
            .await
            .expect("no trap")
    }

    async fn get_all(&mut self) -> Result<Vec<(String, String)>, ConfigError> {
        self.adapter
            .wasi_config_store()
            .call_get_all(&mut self.store)
            .await
            .expect("no trap")
    }
}

#[tokio::test]
async fn plain_keys_are_env_vars_in_upper_snake_case() -> anyhow::Result<()> {
    let (context, platform) = platform();
    platform.set_env("S3_ENDPOINT", "https://s3.example");
    platform.set_env("MAX_UPLOAD_BYTES", "1048576");
    let mut config = Config::new(&context).await;
    assert_eq!(
        config.get("s3-endpoint").await,
        Ok(Some("https://s3.example".into()))
    );
    assert_eq!(
        config.get("max-upload-bytes").await,
        Ok(Some("1048576".into()))
    );
    assert_eq!(config.get("s3-bucket").await, Ok(None));
    assert_eq!(config.get("not a key").await, Ok(None));
    Ok(())
}

#[tokio::test]
async fn secret_keys_come_from_secrets_and_never_from_env_vars() -> anyhow::Result<()> {
    let (context, platform) = platform();
    platform.set_env("S3_SECRET_ACCESS_KEY", "plain-env-value");
    let mut config = Config::new(&context).await;
    assert_eq!(
        config.get("s3-secret-access-key").await,
        Ok(None),
        "not from env"
    );
    platform.set_secret("S3_SECRET_ACCESS_KEY", "hunter2");
    assert_eq!(
        config.get("s3-secret-access-key").await,
        Ok(Some("hunter2".into()))
    );
    assert_eq!(platform.count(FastEdgeOp::SecretGet), 2);
    Ok(())
}

#[tokio::test]
async fn a_missing_secret_reads_as_unset_and_a_denied_one_is_a_clean_error() -> anyhow::Result<()> {
    let (context, platform) = platform();
    platform.deny_secret("UPLOAD_TOKEN");
    platform.set_secret("S3_SESSION_TOKEN", "session-secret-value");
    let mut config = Config::new(&context).await;
    assert_eq!(config.get("s3-secret-access-key").await, Ok(None));
    match config.get("upload-token").await {
        Err(ConfigError::Upstream(message)) => {
            assert!(message.contains("UPLOAD_TOKEN"), "{message}");
            assert!(message.contains("access denied"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // get-all fails as a whole, naming the key, never showing a value.
    match config.get_all().await {
        Err(ConfigError::Upstream(message)) => {
            assert!(!message.contains("session-secret-value"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn get_all_reports_the_known_keys_that_are_set() -> anyhow::Result<()> {
    let (context, platform) = platform();
    platform.set_app_config("s3-endpoint", "https://s3.example");
    platform.set_app_config("kv-bucket", "counters");
    platform.set_app_config("upload-token", "t0k3n");
    let mut config = Config::new(&context).await;
    let mut all = config.get_all().await.expect("readable");
    all.sort();
    assert_eq!(
        all,
        [
            ("kv-bucket".to_owned(), "counters".to_owned()),
            ("s3-endpoint".to_owned(), "https://s3.example".to_owned()),
            ("upload-token".to_owned(), "t0k3n".to_owned()),
        ]
    );
    Ok(())
}

#[tokio::test]
async fn the_hosts_app_config_mapping_agrees_with_the_adapter() -> anyhow::Result<()> {
    let keys = [
        "kv-bucket",
        "counter-prefix",
        "s3-endpoint",
        "s3-bucket",
        "s3-access-key-id",
        "s3-region",
        "s3-addressing",
        "max-upload-bytes",
    ];
    let (context, platform) = platform();
    for key in keys.iter().chain(SECRET_KEYS.iter()) {
        platform.set_app_config(key, format!("value of {key}"));
    }
    let mut config = Config::new(&context).await;
    for key in keys.iter().chain(SECRET_KEYS.iter()) {
        assert_eq!(
            config.get(key).await,
            Ok(Some(format!("value of {key}"))),
            "{key}"
        );
    }
    Ok(())
}
