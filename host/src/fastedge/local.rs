//! The FastEdge platform `edgeplug-host serve --flavor fastedge` plays.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{
    AppSetting, CacheError, FastEdgePlatform, SecretDenied, TtlCache, app_setting, glob_match,
};
use crate::sync::lock;

#[derive(Debug)]
struct Inner {
    started: Instant,
    cache: Mutex<TtlCache>,
    stores: Mutex<HashMap<String, BTreeMap<String, Vec<u8>>>>,
    env: Mutex<BTreeMap<String, String>>,
    secrets: Mutex<BTreeMap<String, String>>,
}

/// One FastEdge PoP on this machine: a `cache-sync` cache in memory (gone
/// when the process ends, as a PoP's cache may be evicted), key-value stores
/// written by the operator and visible at once (there is no other PoP to
/// reach), and the app's environment variables and secrets. Clones share
/// all of it.
#[derive(Debug, Clone)]
pub struct LocalFastEdge {
    inner: Arc<Inner>,
}

impl Default for LocalFastEdge {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalFastEdge {
    /// A PoP with nothing cached, stored or set.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                started: Instant::now(),
                cache: Mutex::default(),
                stores: Mutex::default(),
                env: Mutex::default(),
                secrets: Mutex::default(),
            }),
        }
    }

    /// Sets the app's environment variable `name` (read by `dictionary.get`).
    pub fn set_env(&self, name: impl Into<String>, value: impl Into<String>) {
        lock(&self.inner.env).insert(name.into(), value.into());
    }

    /// Sets the app's secret `name` (read by `secret.get`).
    pub fn set_secret(&self, name: impl Into<String>, value: impl Into<String>) {
        lock(&self.inner.secrets).insert(name.into(), value.into());
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

    /// Writes `key` of the key-value store `store`, creating the store: what
    /// Gcore's API does for an app's stores.
    pub fn put(&self, store: &str, key: &str, value: impl Into<Vec<u8>>) {
        lock(&self.inner.stores)
            .entry(store.to_owned())
            .or_default()
            .insert(key.to_owned(), value.into());
    }
}

impl FastEdgePlatform for LocalFastEdge {
    fn with_cache(
        &self,
        run: &mut dyn FnMut(&mut TtlCache, Duration) -> Result<(), CacheError>,
    ) -> Result<(), CacheError> {
        run(&mut lock(&self.inner.cache), self.inner.started.elapsed())
    }

    fn store_exists(&self, store: &str) -> bool {
        lock(&self.inner.stores).contains_key(store)
    }

    fn store_get(&self, store: &str, key: &str) -> Option<Vec<u8>> {
        lock(&self.inner.stores).get(store)?.get(key).cloned()
    }

    fn store_scan(&self, store: &str, pattern: &str) -> Vec<String> {
        lock(&self.inner.stores)
            .get(store)
            .into_iter()
            .flatten()
            .filter(|(key, _)| glob_match(pattern.as_bytes(), key.as_bytes()))
            .map(|(key, _)| key.clone())
            .collect()
    }

    fn secret(&self, name: &str) -> Result<Option<String>, SecretDenied> {
        Ok(lock(&self.inner.secrets).get(name).cloned())
    }

    fn env(&self, name: &str) -> Option<String> {
        lock(&self.inner.env).get(name).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_config_lands_in_env_or_secrets() {
        let platform = LocalFastEdge::new();
        platform.set_app_config("s3-endpoint", "http://store");
        platform.set_app_config("upload-token", "t0ken");
        assert_eq!(platform.env("S3_ENDPOINT").as_deref(), Some("http://store"));
        assert_eq!(platform.secret("UPLOAD_TOKEN"), Ok(Some("t0ken".into())));
        assert_eq!(platform.env("UPLOAD_TOKEN"), None);
    }

    #[test]
    fn stores_are_visible_at_once_and_scan_by_glob() {
        let platform = LocalFastEdge::new();
        assert!(!platform.store_exists("flags"));
        platform.put("flags", "beta:a", b"on".to_vec());
        platform.put("flags", "gamma", b"off".to_vec());
        assert!(platform.store_exists("flags"));
        assert_eq!(platform.store_get("flags", "beta:a"), Some(b"on".to_vec()));
        assert_eq!(platform.store_scan("flags", "beta:*"), vec!["beta:a"]);
    }

    #[test]
    fn the_cache_counts() {
        let platform = LocalFastEdge::new();
        let mut seen = 0;
        for _ in 0..3 {
            platform
                .with_cache(&mut |cache, now| {
                    seen = cache.incr("views", 1, now)?;
                    Ok(())
                })
                .expect("the local cache never fails");
        }
        assert_eq!(seen, 3);
    }
}
