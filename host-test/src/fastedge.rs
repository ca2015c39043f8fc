//! A fake Gcore FastEdge platform behind the host's `gcore:fastedge/*`
//! imports, so that `worker-fastedge.wasm` and the adapters run in tests as
//! they would on FastEdge, across several PoPs, with every call logged and
//! the cache failing on demand.
//!
//! It models what FastEdge really does:
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

mod key_value;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use edgeplug_host::fastedge::{
    AppSetting, CacheError, FastEdgeOp, FastEdgePlatform, SECRET_KEYS, SecretDenied, TtlCache,
    app_setting, bindings,
};

use crate::call_log::{CallLog, lock};
use crate::kv::{Pop, SimClock};
pub(crate) use key_value::Stores;

/// How long a published `key-value` write takes to reach every PoP unless
/// told otherwise: 1.5 s, within the 1–2 s Gcore quotes.
pub const DEFAULT_KV_PROPAGATION: Duration = Duration::from_millis(1500);

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
    caches: Mutex<HashMap<Pop, TtlCache>>,
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

    /// The platform as apps at `pop` see it: what a [`HostContext`]
    /// at that PoP links behind `gcore:fastedge/*`.
    ///
    /// [`HostContext`]: crate::HostContext
    pub fn at(&self, pop: Pop) -> FastEdgeAtPop {
        FastEdgeAtPop {
            platform: self.clone(),
            pop,
        }
    }

    fn log(&self, pop: &Pop, op: FastEdgeOp, key: &str) {
        self.inner.calls.record(FastEdgeCall {
            pop: pop.clone(),
            op,
            key: key.to_owned(),
        });
    }

    fn with_cache<R>(&self, pop: &Pop, f: impl FnOnce(&mut TtlCache) -> R) -> R {
        f(lock(&self.inner.caches).entry(pop.clone()).or_default())
    }
}

/// The fake [`FastEdge`] as apps at one PoP see it.
#[derive(Debug, Clone)]
pub struct FastEdgeAtPop {
    platform: FastEdge,
    pop: Pop,
}

impl FastEdgeAtPop {
    /// The PoP.
    pub fn pop(&self) -> &Pop {
        &self.pop
    }
}

impl FastEdgePlatform for FastEdgeAtPop {
    fn observe(&self, op: FastEdgeOp, key: &str) {
        self.platform.log(&self.pop, op, key);
    }

    fn with_cache(
        &self,
        run: &mut dyn FnMut(&mut TtlCache, Duration) -> Result<(), CacheError>,
    ) -> Result<(), CacheError> {
        if let Some(error) = lock(&self.platform.inner.cache_fault).clone() {
            return Err(error);
        }
        let now = self.platform.inner.clock.now();
        self.platform.with_cache(&self.pop, |cache| run(cache, now))
    }

    fn store_exists(&self, store: &str) -> bool {
        lock(&self.platform.inner.stores).exists(store)
    }

    fn store_get(&self, store: &str, key: &str) -> Option<Vec<u8>> {
        self.platform.kv_value(&self.pop, store, key)
    }

    fn store_scan(&self, store: &str, pattern: &str) -> Vec<String> {
        let inner = &self.platform.inner;
        let now = inner.clock.now();
        lock(&inner.stores).scan(store, pattern, &self.pop, now, inner.kv_delay)
    }

    fn secret(&self, name: &str) -> Result<Option<String>, SecretDenied> {
        match lock(&self.platform.inner.secrets).get(name) {
            None => Ok(None),
            Some(Secret::Value(value)) => Ok(Some(value.clone())),
            Some(Secret::Denied) => Err(SecretDenied),
        }
    }

    fn env(&self, name: &str) -> Option<String> {
        lock(&self.platform.inner.env).get(name).cloned()
    }
}
