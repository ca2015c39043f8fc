//! An in-memory KV backend: the default for tests.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;

use super::{KeyPage, KvBackend, KvError, add_to_stored};

/// How many keys one `list-keys` page holds.
const PAGE_SIZE: usize = 1000;

/// Buckets of sorted keys in memory. Every operation holds one lock, so
/// increments are atomic.
#[derive(Debug, Default)]
pub struct MemoryKv {
    buckets: Mutex<HashMap<String, BTreeMap<String, Vec<u8>>>>,
}

impl MemoryKv {
    /// An empty store; buckets are created when first opened.
    pub fn new() -> Self {
        Self::default()
    }

    fn with_bucket<R>(
        &self,
        bucket: &str,
        f: impl FnOnce(&mut BTreeMap<String, Vec<u8>>) -> R,
    ) -> R {
        // A poisoned lock only means another test thread panicked mid-call;
        // the map itself is still consistent, so keep serving.
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        f(buckets.entry(bucket.to_owned()).or_default())
    }
}

#[async_trait]
impl KvBackend for MemoryKv {
    async fn open(&self, bucket: &str) -> Result<(), KvError> {
        self.with_bucket(bucket, |_| Ok(()))
    }

    async fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.with_bucket(bucket, |b| b.get(key).cloned()))
    }

    async fn set(&self, bucket: &str, key: &str, value: Vec<u8>) -> Result<(), KvError> {
        self.with_bucket(bucket, |b| b.insert(key.to_owned(), value));
        Ok(())
    }

    async fn delete(&self, bucket: &str, key: &str) -> Result<(), KvError> {
        self.with_bucket(bucket, |b| b.remove(key));
        Ok(())
    }

    async fn exists(&self, bucket: &str, key: &str) -> Result<bool, KvError> {
        Ok(self.with_bucket(bucket, |b| b.contains_key(key)))
    }

    async fn list_keys(&self, bucket: &str, cursor: Option<u64>) -> Result<KeyPage, KvError> {
        let start = usize::try_from(cursor.unwrap_or(0))
            .map_err(|_| KvError::Other("cursor out of range".into()))?;
        Ok(self.with_bucket(bucket, |b| {
            let keys: Vec<String> = b.keys().skip(start).take(PAGE_SIZE).cloned().collect();
            let next = start + keys.len();
            let cursor = (next < b.len()).then_some(next as u64);
            KeyPage { keys, cursor }
        }))
    }

    async fn increment(&self, bucket: &str, key: &str, delta: u64) -> Result<u64, KvError> {
        self.with_bucket(bucket, |b| {
            let next = add_to_stored(b.get(key).map(Vec::as_slice), delta)?;
            b.insert(key.to_owned(), next.to_string().into_bytes());
            Ok(next)
        })
    }
}
