//! The `redis-rest-kv` adapter component: `wasi:keyvalue/{store,atomics}`
//! (`0.2.0-draft`) over outgoing `wasi:http`, to a central Redis that speaks
//! the Upstash Redis REST protocol (Upstash itself, or `edgeplug-host
//! kv-gateway`). Composed in front of the counter, it makes counters global:
//! shared by every PoP and every host, on FastEdge too.
//!
//! - Settings come from `wasi:config/store` ([`config`]): `kv-rest-url`,
//!   `kv-rest-token` (a secret, in no message), `kv-rest-key-prefix`,
//!   `kv-rest-timeout-ms`.
//! - The key `k` of the bucket `b` is the Redis key `{prefix}{b}:{k}`
//!   ([`keys`]); `open` refuses an empty bucket or one holding `:`, and makes
//!   no network call.
//! - Every request is a `POST` with `Authorization: Bearer <token>` and
//!   `Upstash-Encoding: base64`, so values are raw bytes both ways
//!   ([`command`], [`reply`]): `GET`, `DEL`, `EXISTS`, `SCAN` and `INCRBY`
//!   are JSON arrays; `SET` is `POST /set/<key>` with the value as the body.
//!
//! # Retries
//!
//! `GET`, `EXISTS`, `SCAN`, `SET` and `DEL` are sent up to three times
//! ([`bucket::ATTEMPTS`], pausing [`bucket::BACKOFF_MS`]) when the answer is
//! lost or a 5xx: carrying any of them out twice gives the same outcome.
//! `INCRBY` is sent exactly once: an increment whose answer was lost may
//! have been applied, and a retry would count it twice. Its failure then
//! says "the increment may or may not have been applied", so that the
//! caller (who knows whether over-counting or under-counting is worse)
//! decides. Refusals (401/403, Redis's `{"error"}`, other 4xx) and oversized
//! answers are never retried.
//!
//! The logic is in [`bucket`] over the trait of [`transport`]; this file is
//! only the glue to the generated bindings, and [`http`] the transport over
//! `wasi:http`.

// Linked for its `write` and `getenv`, which keep wasi-libc's stdio and
// environment (and their imports) out of the component.
extern crate guest_stdio;

pub mod bucket;
pub mod command;
pub mod config;
pub mod error;
pub mod http;
pub mod keys;
pub mod reply;
pub mod transport;

/// Generated `wit-bindgen` bindings for the `redis-rest-kv-adapter` world.
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "edgeplug:worker/redis-rest-kv-adapter",
        generate_all,
    });
}

use bindings::exports::wasi::keyvalue::{atomics, store};
use bindings::wasi::config::store as config_store;

use crate::config::{Config, ConfigError, TOKEN_KEY};
use crate::error::KvError;
use crate::http::WasiHttp;

/// The exported component.
pub struct Component;

/// The guest side of a `wasi:keyvalue` bucket resource.
pub struct OpenBucket(bucket::Bucket);

/// Reads the settings from `wasi:config/store`.
fn load_config() -> Result<Config, ConfigError> {
    Config::from_lookup(|key| {
        config_store::get(key).map_err(|error| match error {
            // A secret store's words are not repeated for the token's key.
            _ if key == TOKEN_KEY => "the config store failed".to_owned(),
            config_store::Error::Upstream(m) => format!("upstream error: {m}"),
            config_store::Error::Io(m) => format!("I/O error: {m}"),
        })
    })
}

impl store::Guest for Component {
    type Bucket = OpenBucket;

    fn open(identifier: String) -> Result<store::Bucket, store::Error> {
        let opened = bucket::Bucket::open(&identifier, load_config())?;
        Ok(store::Bucket::new(OpenBucket(opened)))
    }
}

impl store::GuestBucket for OpenBucket {
    fn get(&self, key: String) -> Result<Option<Vec<u8>>, store::Error> {
        Ok(self.0.get(&mut WasiHttp, &key)?)
    }

    fn set(&self, key: String, value: Vec<u8>) -> Result<(), store::Error> {
        Ok(self.0.set(&mut WasiHttp, &key, &value)?)
    }

    fn delete(&self, key: String) -> Result<(), store::Error> {
        Ok(self.0.delete(&mut WasiHttp, &key)?)
    }

    fn exists(&self, key: String) -> Result<bool, store::Error> {
        Ok(self.0.exists(&mut WasiHttp, &key)?)
    }

    fn list_keys(&self, cursor: Option<u64>) -> Result<store::KeyResponse, store::Error> {
        let page = self.0.list_keys(&mut WasiHttp, cursor)?;
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
            .increment(&mut WasiHttp, &key, delta)?)
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
            KvError::Other(message) => store::Error::Other(message),
        }
    }
}
