//! One PoP's `gcore:fastedge/cache-sync`: never replicated, with expiry
//! against whatever clock its owner passes in (so a test can run it on a
//! simulated one).

use std::collections::HashMap;
use std::time::Duration;

/// Why a cache operation failed; mirrors `gcore:fastedge/cache-types.error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CacheError {
    /// `access-denied`.
    #[error("access denied")]
    AccessDenied,
    /// `internal-error`.
    #[error("internal error")]
    Internal,
    /// `other(message)`.
    #[error("{0}")]
    Other(String),
}

#[derive(Debug, Clone)]
struct Entry {
    value: Vec<u8>,
    expires_at: Option<Duration>,
}

/// The cache of one PoP: values with optional expiry, read and written as
/// `cache-sync` does. Every call takes `now`, the time on its owner's clock.
#[derive(Debug, Clone, Default)]
pub struct TtlCache {
    entries: HashMap<String, Entry>,
}

impl TtlCache {
    fn live(&mut self, key: &str, now: Duration) -> Option<&mut Entry> {
        let expired = self
            .entries
            .get(key)
            .is_some_and(|e| e.expires_at.is_some_and(|at| now >= at));
        if expired {
            self.entries.remove(key);
        }
        self.entries.get_mut(key)
    }

    /// The live value at `key`.
    pub fn get(&mut self, key: &str, now: Duration) -> Option<Vec<u8>> {
        self.live(key, now).map(|e| e.value.clone())
    }

    /// Sets `key`, expiring `ttl` after `now` if given.
    pub fn set(&mut self, key: &str, value: Vec<u8>, ttl: Option<Duration>, now: Duration) {
        let expires_at = ttl.map(|ttl| now.saturating_add(ttl));
        self.entries
            .insert(key.to_owned(), Entry { value, expires_at });
    }

    /// Removes `key`.
    pub fn delete(&mut self, key: &str) {
        self.entries.remove(key);
    }

    /// Whether `key` holds a live value.
    pub fn exists(&mut self, key: &str, now: Duration) -> bool {
        self.live(key, now).is_some()
    }

    /// Adds `delta` to the ASCII decimal value at `key` (0 when absent),
    /// keeping any expiry, refusing non-integers and overflow.
    pub fn incr(&mut self, key: &str, delta: i64, now: Duration) -> Result<i64, CacheError> {
        let (current, expires_at) = match self.live(key, now) {
            Some(entry) => (parse_integer(&entry.value)?, entry.expires_at),
            None => (0, None),
        };
        let next = current
            .checked_add(delta)
            .ok_or_else(|| CacheError::Other("increment or decrement would overflow".into()))?;
        self.entries.insert(
            key.to_owned(),
            Entry {
                value: next.to_string().into_bytes(),
                expires_at,
            },
        );
        Ok(next)
    }

    /// Makes a live `key` expire `ttl` after `now`; false if absent.
    pub fn expire(&mut self, key: &str, ttl: Duration, now: Duration) -> bool {
        match self.live(key, now) {
            Some(entry) => {
                entry.expires_at = Some(now.saturating_add(ttl));
                true
            }
            None => false,
        }
    }

    /// Removes every key starting with `prefix`; returns how many.
    pub fn purge_prefix(&mut self, prefix: &str) -> u64 {
        let before = self.entries.len();
        self.entries.retain(|k, _| !k.starts_with(prefix));
        (before - self.entries.len()) as u64
    }
}

fn parse_integer(value: &[u8]) -> Result<i64, CacheError> {
    std::str::from_utf8(value)
        .ok()
        .and_then(|text| text.trim().parse::<i64>().ok())
        .ok_or_else(|| CacheError::Other("value is not an integer or out of range".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn incr_counts_in_ascii_decimal() {
        let mut cache = TtlCache::default();
        assert_eq!(cache.incr("k", 2, MS), Ok(2));
        assert_eq!(cache.incr("k", -5, MS), Ok(-3));
        assert_eq!(cache.get("k", MS), Some(b"-3".to_vec()));
        cache.set("t", b"text".to_vec(), None, MS);
        assert!(cache.incr("t", 1, MS).is_err());
        cache.set("max", i64::MAX.to_string().into_bytes(), None, MS);
        assert!(cache.incr("max", 1, MS).is_err());
    }

    #[test]
    fn entries_expire() {
        let mut cache = TtlCache::default();
        cache.set("k", b"v".to_vec(), Some(10 * MS), Duration::ZERO);
        assert!(cache.exists("k", 9 * MS));
        assert!(!cache.exists("k", 10 * MS));
        assert!(!cache.expire("k", 10 * MS, 10 * MS));
        cache.set("k", b"v".to_vec(), None, 10 * MS);
        assert!(cache.expire("k", 5 * MS, 10 * MS));
        assert_eq!(cache.get("k", 15 * MS), None);
    }

    #[test]
    fn purge_by_prefix() {
        let mut cache = TtlCache::default();
        cache.set("a/1", b"v".to_vec(), None, MS);
        cache.set("a/2", b"v".to_vec(), None, MS);
        cache.set("b/1", b"v".to_vec(), None, MS);
        assert_eq!(cache.purge_prefix("a/"), 2);
        assert!(cache.exists("b/1", MS));
    }
}
