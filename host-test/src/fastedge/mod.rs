//! Fakes of Gcore FastEdge's host interfaces, linked under their exact,
//! unversioned names (`gcore:fastedge/cache-sync`, `key-value`, `secret`,
//! `dictionary`), so that `worker-fastedge.wasm` and the adapters run in this
//! host as they would on FastEdge.
//!
//! They model what FastEdge really does:
//!
//! - `cache-sync` is local to each PoP and never replicated: a value set at
//!   one PoP is never seen at another.
//! - `key-value` is read-only from apps; the test plays Gcore's API with
//!   [`FastEdge::publish`], and a published value reaches every PoP after
//!   the propagation delay (Gcore quotes 1–2 s; [`DEFAULT_KV_PROPAGATION`]).
//! - `secret` and `dictionary` are the app's secrets and environment
//!   variables, set with [`FastEdge::set_secret`] and [`FastEdge::set_env`].
//!
//! Which PoP a request lands on is the [`HostContext`](crate::HostContext)'s
//! choice ([`HostContext::at_pop`](crate::HostContext::at_pop)).

mod app_config;
/// Host bindings of the adapter worlds, for calling the adapters directly.
pub mod bindings;
mod cache;
mod host_impl;
mod key_value;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use app_config::{AppSetting, SECRET_KEYS, app_setting};
pub use cache::CacheError;
pub use host_impl::add_to_linker;

use crate::call_log::{CallLog, lock};
use crate::kv::{Pop, SimClock};
pub(crate) use cache::PopCache;
pub(crate) use key_value::Stores;

/// How long a published `key-value` write takes to reach every PoP unless
/// told otherwise: 1.5 s, within the 1–2 s Gcore quotes.
pub const DEFAULT_KV_PROPAGATION: Duration = Duration::from_millis(1500);

/// The host's representation of an open `gcore:fastedge/key-value.store`.
#[derive(Debug, Clone)]
pub struct StoreHandle {
    /// The store's name.
    pub name: String,
}

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

/// One FastEdge host call, as the fakes saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FastEdgeCall {
    /// Where the request that made it landed.
    pub pop: Pop,
    /// The operation.
    pub op: FastEdgeOp,
    /// The key, store or name it addressed.
    pub key: String,
}

#[derive(Debug, Clone)]
enum Secret {
    Value(String),
    Denied,
}

struct Inner {
    clock: SimClock,
    kv_delay: Duration,
    caches: Mutex<HashMap<Pop, PopCache>>,
    cache_fault: Mutex<Option<CacheError>>,
    stores: Mutex<Stores>,
    env: Mutex<BTreeMap<String, String>>,
    secrets: Mutex<BTreeMap<String, Secret>>,
    calls: CallLog<FastEdgeCall>,
}

/// The fake FastEdge platform: every PoP's cache, the replicated key-value
/// stores, the app's secrets and environment. Clones share all of it.
#[derive(Clone)]
pub struct FastEdge {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for FastEdge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FastEdge")
            .field("kv_delay", &self.inner.kv_delay)
            .finish_non_exhaustive()
    }
}

impl Default for FastEdge {
    fn default() -> Self {
        Self::new()
    }
}

impl FastEdge {
    /// A platform with nothing stored or set, in real time, whose key-value
    /// writes take [`DEFAULT_KV_PROPAGATION`] to reach the PoPs.
    pub fn new() -> Self {
        Self::with_clock(DEFAULT_KV_PROPAGATION, SimClock::real())
    }

    /// A platform on `clock` whose key-value writes take `kv_delay`.
    pub fn with_clock(kv_delay: Duration, clock: SimClock) -> Self {
        Self {
            inner: Arc::new(Inner {
                clock,
                kv_delay,
                caches: Mutex::default(),
                cache_fault: Mutex::default(),
                stores: Mutex::default(),
                env: Mutex::default(),
                secrets: Mutex::default(),
                calls: CallLog::default(),
            }),
        }
    }

    /// The clock the platform runs on.
    pub fn clock(&self) -> &SimClock {
        &self.inner.clock
    }

    /// How long a published key-value write takes to reach every PoP.
    pub fn kv_delay(&self) -> Duration {
        self.inner.kv_delay
    }

    /// Sets the app's environment variable `name` (read by `dictionary.get`).
    pub fn set_env(&self, name: impl Into<String>, value: impl Into<String>) {
        lock(&self.inner.env).insert(name.into(), value.into());
    }

    /// Unsets the environment variable `name`.
    pub fn remove_env(&self, name: &str) {
        lock(&self.inner.env).remove(name);
    }

    /// Sets the app's secret `name` (read by `secret.get`).
    pub fn set_secret(&self, name: impl Into<String>, value: impl Into<String>) {
        lock(&self.inner.secrets).insert(name.into(), Secret::Value(value.into()));
    }

    /// Removes the secret `name`.
    pub fn remove_secret(&self, name: &str) {
        lock(&self.inner.secrets).remove(name);
    }

    /// Makes reading the secret `name` fail with `access-denied`.
    pub fn deny_secret(&self, name: impl Into<String>) {
        lock(&self.inner.secrets).insert(name.into(), Secret::Denied);
    }

    /// Sets the config key `key` (`s3-endpoint`, ...) where the
    /// `fastedge-config` adapter reads it: the environment variable or the
    /// secret of its upper-snake-case name ([`app_setting`]). A key no
    /// FastEdge name can hold is ignored, as the adapter would never see it.
    pub fn set_app_config(&self, key: &str, value: impl Into<String>) {
        match app_setting(key) {
            Some(AppSetting::Env(name)) => self.set_env(name, value),
            Some(AppSetting::Secret(name)) => self.set_secret(name, value),
            None => {}
        }
    }

    /// Unsets the config key `key` (see [`FastEdge::set_app_config`]).
    pub fn remove_app_config(&self, key: &str) {
        match app_setting(key) {
            Some(AppSetting::Env(name)) => self.remove_env(&name),
            Some(AppSetting::Secret(name)) => self.remove_secret(&name),
            None => {}
        }
    }

    /// Creates the key-value store `store` (empty), so that apps can open it.
    pub fn create_store(&self, store: &str) {
        lock(&self.inner.stores).create(store);
    }

    /// Writes `key` of the key-value store `store` (creating the store) as
    /// Gcore's API does: every PoP sees it after the propagation delay.
    pub fn publish(&self, store: &str, key: &str, value: impl Into<Vec<u8>>) {
        let now = self.inner.clock.now();
        lock(&self.inner.stores).publish(store, key, Some(value.into()), now, self.inner.kv_delay);
    }

    /// Deletes `key` of `store` through Gcore's API, with the same delay.
    pub fn unpublish(&self, store: &str, key: &str) {
        let now = self.inner.clock.now();
        lock(&self.inner.stores).publish(store, key, None, now, self.inner.kv_delay);
    }

    /// What the key-value store `store` holds at `key`, as `pop` sees it now.
    pub fn kv_value(&self, pop: &Pop, store: &str, key: &str) -> Option<Vec<u8>> {
        let now = self.inner.clock.now();
        lock(&self.inner.stores).get(store, key, pop, now, self.inner.kv_delay)
    }

    /// What `pop`'s cache holds at `key`.
    pub fn cache_value(&self, pop: &Pop, key: &str) -> Option<Vec<u8>> {
        let now = self.inner.clock.now();
        self.with_cache(pop, |cache| cache.get(key, now))
    }

    /// Sets `key` in `pop`'s cache, without expiry and without logging.
    pub fn seed_cache(&self, pop: &Pop, key: &str, value: impl Into<Vec<u8>>) {
        let now = self.inner.clock.now();
        self.with_cache(pop, |cache| cache.set(key, value.into(), None, now));
    }

    /// Makes every `cache-sync` call fail with `error` until
    /// [`FastEdge::clear_cache_fault`].
    pub fn fail_cache(&self, error: CacheError) {
        *lock(&self.inner.cache_fault) = Some(error);
    }

    /// Lets `cache-sync` calls succeed again.
    pub fn clear_cache_fault(&self) {
        *lock(&self.inner.cache_fault) = None;
    }

    /// Every call made so far, oldest first.
    pub fn calls(&self) -> Vec<FastEdgeCall> {
        self.inner.calls.all()
    }

    /// How many calls of `op` were made.
    pub fn count(&self, op: FastEdgeOp) -> usize {
        self.inner.calls.count(|c| c.op == op)
    }

    /// Forgets the calls made so far.
    pub fn clear_calls(&self) {
        self.inner.calls.clear();
    }

    fn log(&self, pop: &Pop, op: FastEdgeOp, key: &str) {
        self.inner.calls.record(FastEdgeCall {
            pop: pop.clone(),
            op,
            key: key.to_owned(),
        });
    }

    fn with_cache<R>(&self, pop: &Pop, f: impl FnOnce(&mut PopCache) -> R) -> R {
        f(lock(&self.inner.caches).entry(pop.clone()).or_default())
    }

    /// Logs a cache call, then runs it on `pop`'s cache unless a fault is set.
    fn cache_call<R>(
        &self,
        pop: &Pop,
        op: FastEdgeOp,
        key: &str,
        f: impl FnOnce(&mut PopCache, Duration) -> Result<R, CacheError>,
    ) -> Result<R, CacheError> {
        self.log(pop, op, key);
        if let Some(error) = lock(&self.inner.cache_fault).clone() {
            return Err(error);
        }
        let now = self.inner.clock.now();
        self.with_cache(pop, |cache| f(cache, now))
    }
}
