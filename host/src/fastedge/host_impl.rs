//! The `gcore:fastedge/*` host interfaces, over the instance's
//! [`FastEdgePlatform`](super::FastEdgePlatform).

use std::time::Duration;

use wasmtime::component::{HasSelf, Linker, Resource};

use super::bindings::config_adapter::gcore::fastedge::secret;
use super::bindings::kv_adapter::gcore::fastedge::{
    cache_sync, cache_types, dictionary, key_value,
};
use super::{CacheError, FastEdgeOp, StoreHandle, TtlCache};
use crate::state::HostState;

/// Adds `gcore:fastedge/{cache-types,cache-sync,key-value,secret,dictionary}`
/// to `linker`, under their exact unversioned names.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
    cache_types::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    cache_sync::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    key_value::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    dictionary::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    secret::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    Ok(())
}

impl From<CacheError> for cache_types::Error {
    fn from(error: CacheError) -> Self {
        match error {
            CacheError::AccessDenied => Self::AccessDenied,
            CacheError::Internal => Self::InternalError,
            CacheError::Other(message) => Self::Other(message),
        }
    }
}

type CacheResult<T> = wasmtime::Result<Result<T, cache_types::Error>>;

impl HostState {
    /// Runs one cache operation on the platform's cache for this PoP.
    fn cache<R>(
        &self,
        op: FastEdgeOp,
        key: &str,
        f: impl FnOnce(&mut TtlCache, Duration) -> Result<R, CacheError>,
    ) -> CacheResult<R> {
        self.fastedge.observe(op, key);
        let mut f = Some(f);
        let mut answer = None;
        let ran = self.fastedge.with_cache(&mut |cache, now| {
            if let Some(f) = f.take() {
                answer = Some(f(cache, now)?);
            }
            Ok(())
        });
        Ok(match (ran, answer) {
            (Err(error), _) => Err(error.into()),
            (Ok(()), Some(value)) => Ok(value),
            // A platform that never ran the operation: say so to the guest.
            (Ok(()), None) => Err(cache_types::Error::InternalError),
        })
    }
}

impl cache_types::Host for HostState {}

impl cache_sync::Host for HostState {
    async fn get(&mut self, key: String) -> CacheResult<Option<Vec<u8>>> {
        self.cache(FastEdgeOp::CacheGet, &key, |c, now| Ok(c.get(&key, now)))
    }

    async fn set(&mut self, key: String, value: Vec<u8>, ttl_ms: Option<u64>) -> CacheResult<()> {
        self.cache(FastEdgeOp::CacheSet, &key, |c, now| {
            c.set(&key, value, ttl_ms.map(Duration::from_millis), now);
            Ok(())
        })
    }

    async fn delete(&mut self, key: String) -> CacheResult<()> {
        self.cache(FastEdgeOp::CacheDelete, &key, |c, _| {
            c.delete(&key);
            Ok(())
        })
    }

    async fn exists(&mut self, key: String) -> CacheResult<bool> {
        self.cache(FastEdgeOp::CacheExists, &key, |c, now| {
            Ok(c.exists(&key, now))
        })
    }

    async fn incr(&mut self, key: String, delta: i64) -> CacheResult<i64> {
        self.cache(FastEdgeOp::CacheIncr, &key, |c, now| {
            c.incr(&key, delta, now)
        })
    }

    async fn expire(&mut self, key: String, ttl_ms: u64) -> CacheResult<bool> {
        self.cache(FastEdgeOp::CacheExpire, &key, |c, now| {
            Ok(c.expire(&key, Duration::from_millis(ttl_ms), now))
        })
    }

    async fn purge(&mut self) -> CacheResult<u64> {
        self.cache(FastEdgeOp::CachePurge, "", |c, _| Ok(c.purge_prefix("")))
    }

    async fn purge_prefix(&mut self, prefix: String) -> CacheResult<u64> {
        self.cache(FastEdgeOp::CachePurge, &prefix, |c, _| {
            Ok(c.purge_prefix(&prefix))
        })
    }
}

type KvResult<T> = wasmtime::Result<Result<T, key_value::Error>>;

impl HostState {
    fn store_name(&self, store: &Resource<StoreHandle>) -> wasmtime::Result<String> {
        Ok(self.table.get(store)?.name.clone())
    }
}

impl key_value::Host for HostState {}

impl key_value::HostStore for HostState {
    async fn open(&mut self, name: String) -> KvResult<Resource<StoreHandle>> {
        self.fastedge.observe(FastEdgeOp::KvOpen, &name);
        if !self.fastedge.store_exists(&name) {
            return Ok(Err(key_value::Error::NoSuchStore));
        }
        Ok(Ok(self.table.push(StoreHandle { name })?))
    }

    async fn get(
        &mut self,
        store: Resource<StoreHandle>,
        key: String,
    ) -> KvResult<Option<Vec<u8>>> {
        let name = self.store_name(&store)?;
        self.fastedge.observe(FastEdgeOp::KvGet, &key);
        Ok(Ok(self.fastedge.store_get(&name, &key)))
    }

    async fn scan(
        &mut self,
        store: Resource<StoreHandle>,
        pattern: String,
    ) -> KvResult<Vec<String>> {
        let name = self.store_name(&store)?;
        self.fastedge.observe(FastEdgeOp::KvScan, &pattern);
        Ok(Ok(self.fastedge.store_scan(&name, &pattern)))
    }

    async fn zrange_by_score(
        &mut self,
        _store: Resource<StoreHandle>,
        key: String,
        _min: f64,
        _max: f64,
    ) -> KvResult<Vec<(Vec<u8>, f64)>> {
        // No platform here holds sorted sets: every one reads as absent (empty).
        self.fastedge.observe(FastEdgeOp::KvScan, &key);
        Ok(Ok(Vec::new()))
    }

    async fn zscan(
        &mut self,
        _store: Resource<StoreHandle>,
        key: String,
        _pattern: String,
    ) -> KvResult<Vec<(Vec<u8>, f64)>> {
        self.fastedge.observe(FastEdgeOp::KvScan, &key);
        Ok(Ok(Vec::new()))
    }

    async fn bf_exists(
        &mut self,
        _store: Resource<StoreHandle>,
        key: String,
        _item: String,
    ) -> KvResult<bool> {
        // No platform here holds Bloom filters: every one reads as absent.
        self.fastedge.observe(FastEdgeOp::KvScan, &key);
        Ok(Ok(false))
    }

    async fn drop(&mut self, store: Resource<StoreHandle>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}

impl HostState {
    fn secret(&self, key: &str) -> Result<Option<String>, secret::Error> {
        self.fastedge.observe(FastEdgeOp::SecretGet, key);
        self.fastedge
            .secret(key)
            .map_err(|_| secret::Error::AccessDenied)
    }
}

impl secret::Host for HostState {
    async fn get(
        &mut self,
        key: String,
    ) -> wasmtime::Result<Result<Option<String>, secret::Error>> {
        Ok(self.secret(&key))
    }

    async fn get_effective_at(
        &mut self,
        key: String,
        _at: u32,
    ) -> wasmtime::Result<Result<Option<String>, secret::Error>> {
        // The platforms here keep one version of each secret, effective at all times.
        Ok(self.secret(&key))
    }
}

impl dictionary::Host for HostState {
    async fn get(&mut self, name: String) -> wasmtime::Result<Option<String>> {
        self.fastedge.observe(FastEdgeOp::DictionaryGet, &name);
        Ok(self.fastedge.env(&name))
    }
}
