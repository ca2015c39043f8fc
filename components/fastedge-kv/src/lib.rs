//! The `fastedge-kv` adapter component: `wasi:keyvalue/{store,atomics}`
//! (`0.2.0-draft`) over Gcore FastEdge's stores, so that the counter runs on
//! FastEdge unchanged.
//!
//! - A bucket is a namespace of `gcore:fastedge/cache-sync`: the key `k` of
//!   the bucket `b` is the cache key `b/k` ([`bucket_name`]). It is
//!   read-write, `increment` is the atomic `incr` ([`counter`]), and like the
//!   cache itself it is local to the PoP and may be evicted.
//! - A bucket listed in the env var `KV_READONLY_BUCKETS` ([`readonly`]) is
//!   the `gcore:fastedge/key-value` store of that name: replicated to every
//!   PoP, written only through Gcore's API, so writes answer `access-denied`.
//! - `list-keys` pages through `key-value.scan("*")` ([`paging`]) on a
//!   read-only bucket and is an error on a cache bucket, which has no scan.
//!
//! The logic is in [`bucket`] over the traits of [`backend`]; this file is
//! only the glue to the generated bindings.

// Linked for its `write` and `getenv`, which keep wasi-libc's stdio and
// environment (and their imports) out of the component.
extern crate guest_stdio;

pub mod backend;
pub mod bucket;
pub mod bucket_name;
pub mod counter;
pub mod error;
pub mod paging;
pub mod readonly;

/// Generated `wit-bindgen` bindings for the `fastedge-kv-adapter` world.
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "edgeplug:worker/fastedge-kv-adapter",
        generate_all,
    });
}

use bindings::exports::wasi::keyvalue::{atomics, store};
use bindings::gcore::fastedge::{cache_sync, cache_types, dictionary, key_value};

use crate::error::KvError;

/// The exported component.
pub struct Component;

/// The guest side of a `wasi:keyvalue` bucket resource.
pub struct OpenBucket(bucket::Bucket<key_value::Store>);

impl store::Guest for Component {
    type Bucket = OpenBucket;

    fn open(identifier: String) -> Result<store::Bucket, store::Error> {
        let opened = bucket::Bucket::open(&identifier, &FastEdgeEnv, |name| {
            key_value::Store::open(name).map_err(KvError::from)
        })
        .map_err(store::Error::from)?;
        Ok(store::Bucket::new(OpenBucket(opened)))
    }
}

impl store::GuestBucket for OpenBucket {
    fn get(&self, key: String) -> Result<Option<Vec<u8>>, store::Error> {
        Ok(self.0.get(&FastEdgeCache, &key)?)
    }

    fn set(&self, key: String, value: Vec<u8>) -> Result<(), store::Error> {
        Ok(self.0.set(&FastEdgeCache, &key, &value)?)
    }

    fn delete(&self, key: String) -> Result<(), store::Error> {
        Ok(self.0.delete(&FastEdgeCache, &key)?)
    }

    fn exists(&self, key: String) -> Result<bool, store::Error> {
        Ok(self.0.exists(&FastEdgeCache, &key)?)
    }

    fn list_keys(&self, cursor: Option<u64>) -> Result<store::KeyResponse, store::Error> {
        let page = self.0.list_keys(cursor)?;
        Ok(store::KeyResponse {
            keys: page.keys,
            cursor: page.cursor,
        })
    }
}

impl atomics::Guest for Component {
    fn increment(
        bucket: store::BucketBorrow<'_>,
        key: String,
        delta: u64,
    ) -> Result<u64, store::Error> {
        Ok(bucket
            .get::<OpenBucket>()
            .0
            .increment(&FastEdgeCache, &key, delta)?)
    }
}

// Only on wasm: the export symbols have names a native linker rejects when
// `cargo test` builds the host cdylib.
#[cfg(target_arch = "wasm32")]
bindings::export!(Component with_types_in bindings);

impl From<KvError> for store::Error {
    fn from(error: KvError) -> Self {
        match error {
            KvError::NoSuchStore => store::Error::NoSuchStore,
            KvError::AccessDenied => store::Error::AccessDenied,
            KvError::Other(message) => store::Error::Other(message),
        }
    }
}

impl From<cache_types::Error> for KvError {
    fn from(error: cache_types::Error) -> Self {
        match error {
            cache_types::Error::AccessDenied => KvError::AccessDenied,
            cache_types::Error::InternalError => {
                KvError::Other("FastEdge cache-sync: internal error".to_owned())
            }
            cache_types::Error::Other(message) => {
                KvError::Other(format!("FastEdge cache-sync: {message}"))
            }
        }
    }
}

impl From<key_value::Error> for KvError {
    fn from(error: key_value::Error) -> Self {
        match error {
            key_value::Error::NoSuchStore => KvError::NoSuchStore,
            key_value::Error::AccessDenied => KvError::AccessDenied,
            key_value::Error::InternalError => {
                KvError::Other("FastEdge key-value: internal error".to_owned())
            }
            key_value::Error::Other(message) => {
                KvError::Other(format!("FastEdge key-value: {message}"))
            }
        }
    }
}

/// [`backend::Cache`] over the `gcore:fastedge/cache-sync` import.
struct FastEdgeCache;

impl backend::Cache for FastEdgeCache {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        Ok(cache_sync::get(key)?)
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        Ok(cache_sync::set(key, value, None)?)
    }

    fn delete(&self, key: &str) -> Result<(), KvError> {
        Ok(cache_sync::delete(key)?)
    }

    fn exists(&self, key: &str) -> Result<bool, KvError> {
        Ok(cache_sync::exists(key)?)
    }

    fn incr(&self, key: &str, delta: i64) -> Result<i64, KvError> {
        Ok(cache_sync::incr(key, delta)?)
    }
}

impl backend::ReadOnlyStore for key_value::Store {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        Ok(key_value::Store::get(self, key)?)
    }

    fn scan(&self, pattern: &str) -> Result<Vec<String>, KvError> {
        Ok(key_value::Store::scan(self, pattern)?)
    }
}

/// [`backend::Env`] over the `gcore:fastedge/dictionary` import.
struct FastEdgeEnv;

impl backend::Env for FastEdgeEnv {
    fn get(&self, name: &str) -> Option<String> {
        dictionary::get(name)
    }
}
