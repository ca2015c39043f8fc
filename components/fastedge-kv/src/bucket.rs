//! An open bucket and the `wasi:keyvalue` operations on it.

use crate::backend::{Cache, Env, ReadOnlyStore};
use crate::error::KvError;
use crate::{bucket_name, counter, paging, readonly};

/// Why `list-keys` fails on a cache bucket.
pub const NO_SCAN: &str = "list-keys is not supported on FastEdge cache-sync buckets: \
     the cache cannot be scanned (list the bucket in KV_READONLY_BUCKETS to read a key-value store)";

/// An open `wasi:keyvalue` bucket.
#[derive(Debug)]
pub enum Bucket<S> {
    /// A namespace of `cache-sync`: read-write, PoP-local.
    Cache {
        /// The bucket identifier, the prefix of its cache keys.
        name: String,
    },
    /// A `key-value` store: replicated, read-only.
    ReadOnly {
        /// The bucket identifier, which is also the store's name.
        name: String,
        /// The open store.
        store: S,
    },
}

impl<S: ReadOnlyStore> Bucket<S> {
    /// Opens the bucket `identifier`: the `key-value` store of that name
    /// (through `open_store`) when `env` lists it as read-only, else a
    /// `cache-sync` namespace.
    pub fn open(
        identifier: &str,
        env: &impl Env,
        open_store: impl FnOnce(&str) -> Result<S, KvError>,
    ) -> Result<Self, KvError> {
        bucket_name::validate(identifier)?;
        let list = env.get(readonly::READONLY_BUCKETS_VAR);
        if readonly::is_listed(list.as_deref(), identifier) {
            Ok(Self::ReadOnly {
                name: identifier.to_owned(),
                store: open_store(identifier)?,
            })
        } else {
            Ok(Self::Cache {
                name: identifier.to_owned(),
            })
        }
    }

    /// The bucket identifier.
    pub fn name(&self) -> &str {
        match self {
            Self::Cache { name } | Self::ReadOnly { name, .. } => name,
        }
    }

    /// `bucket.get`.
    pub fn get(&self, cache: &impl Cache, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        match self {
            Self::Cache { name } => cache.get(&bucket_name::cache_key(name, key)),
            Self::ReadOnly { store, .. } => store.get(key),
        }
    }

    /// `bucket.set`; read-only buckets refuse.
    pub fn set(&self, cache: &impl Cache, key: &str, value: &[u8]) -> Result<(), KvError> {
        cache.set(&self.writable_key(key)?, value)
    }

    /// `bucket.delete`; read-only buckets refuse.
    pub fn delete(&self, cache: &impl Cache, key: &str) -> Result<(), KvError> {
        cache.delete(&self.writable_key(key)?)
    }

    /// `bucket.exists`.
    pub fn exists(&self, cache: &impl Cache, key: &str) -> Result<bool, KvError> {
        match self {
            Self::Cache { name } => cache.exists(&bucket_name::cache_key(name, key)),
            Self::ReadOnly { store, .. } => Ok(store.get(key)?.is_some()),
        }
    }

    /// `bucket.list-keys`: pages of a `scan("*")` for a read-only bucket; an
    /// error for a cache bucket, which cannot be scanned.
    pub fn list_keys(&self, cursor: Option<u64>) -> Result<paging::Page, KvError> {
        match self {
            Self::Cache { .. } => Err(KvError::Other(NO_SCAN.to_owned())),
            Self::ReadOnly { store, .. } => {
                paging::page(store.scan("*")?, cursor, paging::PAGE_SIZE)
            }
        }
    }

    /// `atomics.increment` over `cache-sync.incr`; read-only buckets refuse.
    pub fn increment(&self, cache: &impl Cache, key: &str, delta: u64) -> Result<u64, KvError> {
        let key = self.writable_key(key)?;
        let delta = counter::to_incr_delta(delta)?;
        counter::from_incr_result(cache.incr(&key, delta)?)
    }

    /// The cache key to write `key` at, or `access-denied` when read-only.
    fn writable_key(&self, key: &str) -> Result<String, KvError> {
        match self {
            Self::Cache { name } => Ok(bucket_name::cache_key(name, key)),
            Self::ReadOnly { .. } => Err(KvError::AccessDenied),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::{BTreeMap, HashMap};

    use super::*;

    #[derive(Default)]
    struct MapCache(RefCell<BTreeMap<String, Vec<u8>>>);

    impl Cache for MapCache {
        fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
            Ok(self.0.borrow().get(key).cloned())
        }
        fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
            self.0.borrow_mut().insert(key.to_owned(), value.to_vec());
            Ok(())
        }
        fn delete(&self, key: &str) -> Result<(), KvError> {
            self.0.borrow_mut().remove(key);
            Ok(())
        }
        fn exists(&self, key: &str) -> Result<bool, KvError> {
            Ok(self.0.borrow().contains_key(key))
        }
        fn incr(&self, key: &str, delta: i64) -> Result<i64, KvError> {
            let mut map = self.0.borrow_mut();
            let current = match map.get(key) {
                Some(v) => std::str::from_utf8(v)
                    .ok()
                    .and_then(|t| t.parse::<i64>().ok())
                    .ok_or_else(|| KvError::Other("not an integer".into()))?,
                None => 0,
            };
            let next = current
                .checked_add(delta)
                .ok_or_else(|| KvError::Other("overflow".into()))?;
            map.insert(key.to_owned(), next.to_string().into_bytes());
            Ok(next)
        }
    }

    #[derive(Debug)]
    struct MapStore(BTreeMap<String, Vec<u8>>);

    impl ReadOnlyStore for MapStore {
        fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
            Ok(self.0.get(key).cloned())
        }
        fn scan(&self, pattern: &str) -> Result<Vec<String>, KvError> {
            assert_eq!(pattern, "*");
            Ok(self.0.keys().rev().cloned().collect())
        }
    }

    struct MapEnv(HashMap<&'static str, &'static str>);

    impl Env for MapEnv {
        fn get(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|v| (*v).to_owned())
        }
    }

    fn env(readonly: &'static str) -> MapEnv {
        MapEnv(HashMap::from([(readonly::READONLY_BUCKETS_VAR, readonly)]))
    }

    fn open_cache(name: &str) -> Bucket<MapStore> {
        Bucket::open(name, &env("flags"), |_| panic!("not read-only")).unwrap()
    }

    fn open_flags() -> Bucket<MapStore> {
        Bucket::open("flags", &env("tenants,flags"), |name| {
            assert_eq!(name, "flags");
            Ok(MapStore(BTreeMap::from([
                ("beta".to_owned(), b"on".to_vec()),
                ("alpha".to_owned(), b"off".to_vec()),
            ])))
        })
        .unwrap()
    }

    #[test]
    fn cache_buckets_prefix_their_keys() {
        let cache = MapCache::default();
        let bucket = open_cache("default");
        bucket.set(&cache, "k", b"v").unwrap();
        assert_eq!(cache.0.borrow().get("default/k"), Some(&b"v".to_vec()));
        assert_eq!(bucket.get(&cache, "k"), Ok(Some(b"v".to_vec())));
        assert_eq!(open_cache("other").get(&cache, "k"), Ok(None));
        assert_eq!(bucket.exists(&cache, "k"), Ok(true));
        bucket.delete(&cache, "k").unwrap();
        assert_eq!(bucket.exists(&cache, "k"), Ok(false));
    }

    #[test]
    fn increments_go_through_incr_as_decimal() {
        let cache = MapCache::default();
        let bucket = open_cache("default");
        assert_eq!(bucket.increment(&cache, "page_views", 1), Ok(1));
        assert_eq!(bucket.increment(&cache, "page_views", 41), Ok(42));
        assert_eq!(bucket.get(&cache, "page_views"), Ok(Some(b"42".to_vec())));
    }

    #[test]
    fn increments_refuse_what_s64_cannot_carry() {
        let cache = MapCache::default();
        let bucket = open_cache("default");
        assert!(matches!(
            bucket.increment(&cache, "k", u64::MAX),
            Err(KvError::Other(m)) if m.contains("delta")
        ));
        cache.set("default/neg", b"-5").unwrap();
        assert!(matches!(
            bucket.increment(&cache, "neg", 1),
            Err(KvError::Other(m)) if m.contains("negative")
        ));
    }

    #[test]
    fn cache_buckets_cannot_list_keys() {
        assert_eq!(
            open_cache("default").list_keys(None),
            Err(KvError::Other(NO_SCAN.to_owned()))
        );
    }

    #[test]
    fn read_only_buckets_read_the_key_value_store() {
        let cache = MapCache::default();
        let flags = open_flags();
        assert_eq!(flags.name(), "flags");
        assert_eq!(flags.get(&cache, "beta"), Ok(Some(b"on".to_vec())));
        assert_eq!(flags.exists(&cache, "alpha"), Ok(true));
        assert_eq!(flags.exists(&cache, "gamma"), Ok(false));
        let page = flags.list_keys(None).unwrap();
        assert_eq!(page.keys, ["alpha", "beta"]);
        assert_eq!(page.cursor, None);
    }

    #[test]
    fn read_only_buckets_refuse_writes() {
        let cache = MapCache::default();
        let flags = open_flags();
        assert_eq!(
            flags.set(&cache, "beta", b"off"),
            Err(KvError::AccessDenied)
        );
        assert_eq!(flags.delete(&cache, "beta"), Err(KvError::AccessDenied));
        assert_eq!(flags.increment(&cache, "n", 1), Err(KvError::AccessDenied));
        assert!(cache.0.borrow().is_empty());
    }

    #[test]
    fn opening_checks_the_identifier_and_the_store() {
        assert_eq!(
            Bucket::<MapStore>::open("a/b", &env(""), |_| panic!()).unwrap_err(),
            KvError::NoSuchStore
        );
        assert_eq!(
            Bucket::<MapStore>::open("flags", &env("flags"), |_| Err(KvError::NoSuchStore))
                .unwrap_err(),
            KvError::NoSuchStore
        );
    }
}
