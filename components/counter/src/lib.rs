//! The edgeplug counter component: named atomic counters over a
//! `wasi:keyvalue` bucket, exported as `edgeplug:worker/counter`.
//!
//! All logic lives in plain modules that build and test on the host; this
//! file is only the glue between them and the generated bindings.
//!
//! # A counter at its maximum
//!
//! `increment` fails with `too-large(value)` when adding `delta` would take
//! the counter past the largest value the store can hold (`i64::MAX` on
//! Redis and FastEdge, `u64::MAX` on `wasi:keyvalue` hosts that count in
//! `u64`). It is the only `too-large` the counter returns; `value` is the
//! counter's current, unchanged value, so a caller can still show it (the
//! entry's `GET /` does). Stores word overflow differently, so the counter
//! recognises it by reading the value back after a failed increment (see
//! [`ops::increment`]).
//!
//! # Names and namespaces
//!
//! Names may contain `:`. By convention a `:` marks a component's namespace
//! (the rate limiter counts in `rl:{window}:{client}`); the entry's public
//! `/counters/{name}` route refuses such names, so clients can never read or
//! write another component's counters.

// Linked for its `write` and `getenv`, which keep wasi-libc's stdio and
// environment (and their imports) out of the component.
extern crate guest_stdio;

pub mod config;
pub mod errors;
pub mod kv;
pub mod name;
pub mod ops;
pub mod value;

/// Generated `wit-bindgen` bindings for the `counter-component` world.
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "edgeplug:worker/counter-component",
        generate_all,
        // The world's exports are described by `export!` itself, not by the
        // crate: a crate linking this one as a library (bench/monolith)
        // without the `export` feature then exports nothing of it.
        pub_export_macro: true,
    });
}

use bindings::exports::edgeplug::worker::counter::Guest;
use bindings::exports::edgeplug::worker::types::Error;
use bindings::wasi::config::store as config_store;
use bindings::wasi::keyvalue::{atomics, store as kv_store};

use crate::errors::{ConfigError, KvError};

/// The exported component.
pub struct Component;

impl Guest for Component {
    fn increment(name: String, delta: u64) -> Result<u64, Error> {
        ops::increment(&WasiKv, &WasiConfig, &name, delta).map_err(Error::from)
    }

    fn get(name: String) -> Result<u64, Error> {
        ops::get(&WasiKv, &WasiConfig, &name).map_err(Error::from)
    }
}

// Only on wasm: the export symbols are named like `edgeplug:worker/counter@0.1.0#get`,
// which a native linker rejects when `cargo test` builds the host cdylib.
// Only with `export`: a crate using this one as a library turns it off.
#[cfg(all(target_arch = "wasm32", feature = "export"))]
bindings::export!(Component with_types_in bindings);

/// [`kv::Kv`] over the `wasi:keyvalue` imports.
struct WasiKv;

impl kv::Kv for WasiKv {
    fn increment(&self, bucket: &str, key: &str, delta: u64) -> Result<u64, KvError> {
        // Opening per call is cheap and keeps the component stateless.
        let bucket = kv_store::open(bucket).map_err(KvError::from)?;
        atomics::increment(&bucket, key, delta).map_err(KvError::from)
    }

    fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        let bucket = kv_store::open(bucket).map_err(KvError::from)?;
        bucket.get(key).map_err(KvError::from)
    }
}

impl From<kv_store::Error> for KvError {
    fn from(err: kv_store::Error) -> Self {
        match err {
            kv_store::Error::NoSuchStore => KvError::NoSuchStore,
            kv_store::Error::AccessDenied => KvError::AccessDenied,
            kv_store::Error::Other(msg) => KvError::Other(msg),
        }
    }
}

/// [`config::ConfigSource`] over the `wasi:config/store` import.
struct WasiConfig;

impl config::ConfigSource for WasiConfig {
    fn get(&self, key: &str) -> Result<Option<String>, ConfigError> {
        config_store::get(key).map_err(|err| ConfigError {
            key: key.to_owned(),
            message: match err {
                config_store::Error::Upstream(msg) | config_store::Error::Io(msg) => msg,
            },
        })
    }
}
