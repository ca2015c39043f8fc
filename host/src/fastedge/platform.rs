//! What the linked `gcore:fastedge/*` functions ask of a platform.

use std::time::Duration;

use super::{CacheError, TtlCache};

/// Which FastEdge host call a guest made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FastEdgeOp {
    /// `cache-sync.get`
    CacheGet,
    /// `cache-sync.set`
    CacheSet,
    /// `cache-sync.delete`
    CacheDelete,
    /// `cache-sync.exists`
    CacheExists,
    /// `cache-sync.incr`
    CacheIncr,
    /// `cache-sync.expire`
    CacheExpire,
    /// `cache-sync.purge` and `purge-prefix`
    CachePurge,
    /// `key-value.store.open`
    KvOpen,
    /// `key-value.store.get`
    KvGet,
    /// `key-value.store.scan` (and the sorted-set and Bloom-filter reads)
    KvScan,
    /// `secret.get` and `get-effective-at`
    SecretGet,
    /// `dictionary.get`
    DictionaryGet,
}

/// Reading a secret the app may not read (`secret.error.access-denied`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("access to the secret is denied")]
pub struct SecretDenied;

/// A FastEdge platform as one PoP shows it to an app: that PoP's cache, the
/// replicated key-value stores as they have reached it, the app's secrets
/// and environment. The host's `gcore:fastedge/*` functions call these; an
/// implementation decides what a PoP is, how fast writes spread, and what
/// fails.
pub trait FastEdgePlatform: Send + Sync {
    /// Called before every host call, with the key, store or name it
    /// addresses: where a platform logs calls. Does nothing by default.
    fn observe(&self, op: FastEdgeOp, key: &str) {
        let _ = (op, key);
    }

    /// Runs one `cache-sync` operation on this PoP's cache, with the time
    /// on the platform's clock, or fails it as the platform's cache would.
    fn with_cache(
        &self,
        run: &mut dyn FnMut(&mut TtlCache, Duration) -> Result<(), CacheError>,
    ) -> Result<(), CacheError>;

    /// Whether the key-value store `store` exists (apps may open it).
    fn store_exists(&self, store: &str) -> bool;

    /// The value of `key` in `store`, as this PoP sees it now.
    fn store_get(&self, store: &str, key: &str) -> Option<Vec<u8>>;

    /// The keys of `store` matching the glob `pattern`, as this PoP sees
    /// them now.
    fn store_scan(&self, store: &str, pattern: &str) -> Vec<String>;

    /// The app's secret `name`.
    fn secret(&self, name: &str) -> Result<Option<String>, SecretDenied>;

    /// The app's environment variable `name` (`dictionary.get`).
    fn env(&self, name: &str) -> Option<String>;
}
