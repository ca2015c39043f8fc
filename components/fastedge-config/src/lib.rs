//! The `fastedge-config` adapter component: `wasi:config/store`
//! (`0.2.0-rc.1`) over Gcore FastEdge's environment variables
//! (`gcore:fastedge/dictionary`) and secrets (`gcore:fastedge/secret`), so
//! that every edgeplug component reads its settings on FastEdge unchanged.
//!
//! - The key `s3-endpoint` is the FastEdge name `S3_ENDPOINT` ([`names`]).
//! - The keys in [`keys::SECRET_KEYS`] are secrets; every other key is an
//!   environment variable.
//! - `get-all` reports the known edgeplug keys that are set ([`keys`]):
//!   FastEdge cannot enumerate its variables.
//!
//! The logic is in [`store`]; this file is only the glue to the bindings.

// Linked for its `write` and `getenv`, which keep wasi-libc's stdio and
// environment (and their imports) out of the component.
extern crate guest_stdio;

pub mod error;
pub mod keys;
pub mod names;
pub mod store;

/// Generated `wit-bindgen` bindings for the `fastedge-config-adapter` world.
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "edgeplug:worker/fastedge-config-adapter",
        generate_all,
    });
}

use bindings::exports::wasi::config::store as config;
use bindings::gcore::fastedge::{dictionary, secret};

use crate::error::{ConfigError, SecretError};

/// The exported component.
pub struct Component;

impl config::Guest for Component {
    fn get(key: String) -> Result<Option<String>, config::Error> {
        Ok(store::get(&FastEdgeEnv, &FastEdgeSecrets, &key)?)
    }

    fn get_all() -> Result<Vec<(String, String)>, config::Error> {
        Ok(store::get_all(&FastEdgeEnv, &FastEdgeSecrets)?)
    }
}

// Only on wasm: the export symbols have names a native linker rejects when
// `cargo test` builds the host cdylib.
#[cfg(target_arch = "wasm32")]
bindings::export!(Component with_types_in bindings);

impl From<ConfigError> for config::Error {
    fn from(error: ConfigError) -> Self {
        match error {
            ConfigError::Upstream(message) => config::Error::Upstream(message),
        }
    }
}

/// [`store::Env`] over the `gcore:fastedge/dictionary` import.
struct FastEdgeEnv;

impl store::Env for FastEdgeEnv {
    fn get(&self, name: &str) -> Option<String> {
        dictionary::get(name)
    }
}

/// [`store::Secrets`] over the `gcore:fastedge/secret` import.
struct FastEdgeSecrets;

impl store::Secrets for FastEdgeSecrets {
    fn get(&self, name: &str) -> Result<Option<String>, SecretError> {
        secret::get(name).map_err(|error| match error {
            secret::Error::AccessDenied => SecretError::AccessDenied,
            secret::Error::DecryptError => SecretError::DecryptError,
            secret::Error::Other(message) => SecretError::Other(message),
        })
    }
}
