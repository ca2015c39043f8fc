//! The storage interface every KV backend implements.

use async_trait::async_trait;

/// Why a KV operation failed; mirrors `wasi:keyvalue/store.error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KvError {
    /// The bucket does not exist and cannot be created.
    #[error("no such store")]
    NoSuchStore,
    /// The caller may not perform this operation.
    #[error("access denied")]
    AccessDenied,
    /// Anything else: the backend is down, a value is malformed, ...
    #[error("{0}")]
    Other(String),
}

/// One page of keys from [`KvBackend::list_keys`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPage {
    /// The keys of this page, in the backend's order.
    pub keys: Vec<String>,
    /// Where the next page starts; `None` on the last page.
    pub cursor: Option<u64>,
}

/// A key-value store with buckets and atomic increments.
///
/// Counter values are ASCII decimal strings, so `increment` and `get` agree
/// with every other tool that reads the store.
#[async_trait]
pub trait KvBackend: Send + Sync + 'static {
    /// Checks that `bucket` can be opened.
    async fn open(&self, bucket: &str) -> Result<(), KvError>;
    /// Reads a value.
    async fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, KvError>;
    /// Writes a value.
    async fn set(&self, bucket: &str, key: &str, value: Vec<u8>) -> Result<(), KvError>;
    /// Removes a value; removing an absent key is not an error.
    async fn delete(&self, bucket: &str, key: &str) -> Result<(), KvError>;
    /// Tells whether a key is present.
    async fn exists(&self, bucket: &str, key: &str) -> Result<bool, KvError>;
    /// Lists keys a page at a time, starting at `cursor`.
    async fn list_keys(&self, bucket: &str, cursor: Option<u64>) -> Result<KeyPage, KvError>;
    /// Atomically adds `delta` and returns the new value.
    async fn increment(&self, bucket: &str, key: &str, delta: u64) -> Result<u64, KvError>;
}
