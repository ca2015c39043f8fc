//! Gcore FastEdge's host interfaces, linked under their exact, unversioned
//! names (`gcore:fastedge/cache-sync`, `key-value`, `secret`, `dictionary`),
//! so that `worker-fastedge.wasm` and the adapters run here as on FastEdge.
//!
//! The linked functions ask the instance's [`FastEdgePlatform`], the
//! platform as seen from the PoP the request landed on. [`LocalFastEdge`] is
//! the one `edgeplug-host serve --flavor fastedge` plays: one PoP, a cache
//! in memory, the app's environment and secrets. The test kit (`host-test`)
//! brings a multi-PoP fake with call logs and failure switches.

mod app_config;
/// Host bindings of the adapter worlds, for calling the adapters directly.
pub mod bindings;
mod cache;
mod glob;
mod host_impl;
mod local;
mod platform;

pub use app_config::{AppSetting, SECRET_KEYS, app_setting};
pub use cache::{CacheError, TtlCache};
pub use glob::glob_match;
pub use host_impl::add_to_linker;
pub use local::LocalFastEdge;
pub use platform::{FastEdgeOp, FastEdgePlatform, SecretDenied};

/// The host's representation of an open `gcore:fastedge/key-value.store`.
#[derive(Debug, Clone)]
pub struct StoreHandle {
    /// The store's name.
    pub name: String,
}
