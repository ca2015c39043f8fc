//! The FastEdge calls the adapter makes, as traits, so that the logic runs
//! against in-memory fakes in host tests and against the
//! `gcore:fastedge/*` imports in the component.

use crate::error::KvError;

/// `gcore:fastedge/cache-sync`: one read-write key space per app, local to
/// the PoP.
pub trait Cache {
    /// `cache-sync.get`.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError>;
    /// `cache-sync.set`, without expiry.
    fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError>;
    /// `cache-sync.delete`.
    fn delete(&self, key: &str) -> Result<(), KvError>;
    /// `cache-sync.exists`.
    fn exists(&self, key: &str) -> Result<bool, KvError>;
    /// `cache-sync.incr`: atomically adds `delta`, returns the new value.
    fn incr(&self, key: &str, delta: i64) -> Result<i64, KvError>;
}

/// An open `gcore:fastedge/key-value` store: read-only from the app.
pub trait ReadOnlyStore {
    /// `store.get`.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError>;
    /// `store.scan` with a glob pattern.
    fn scan(&self, pattern: &str) -> Result<Vec<String>, KvError>;
}

/// `gcore:fastedge/dictionary`: the app's environment variables.
pub trait Env {
    /// The value of the variable `name`, if set.
    fn get(&self, name: &str) -> Option<String>;
}
