//! A KV backend decorator for tests: records every call and fails on demand.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::{KeyPage, KvBackend, KvError, MemoryKv};
use crate::call_log::{CallLog, lock};

/// Which `wasi:keyvalue` operation a call was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KvOp {
    /// `store.open`
    Open,
    /// `bucket.get`
    Get,
    /// `bucket.set`
    Set,
    /// `bucket.delete`
    Delete,
    /// `bucket.exists`
    Exists,
    /// `bucket.list-keys`
    ListKeys,
    /// `atomics.increment`
    Increment,
}

/// One call a guest made, as the fake saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvCall {
    /// The operation.
    pub op: KvOp,
    /// The bucket it addressed.
    pub bucket: String,
    /// The key, for operations that take one.
    pub key: Option<String>,
}

#[derive(Debug)]
struct Fault {
    op: Option<KvOp>,
    error: KvError,
    /// How many more calls fail; `None` for every call until cleared.
    remaining: Option<u32>,
}

struct Inner {
    backend: Arc<dyn KvBackend>,
    calls: CallLog<KvCall>,
    faults: Mutex<Vec<Fault>>,
}

/// A [`KvBackend`] that records calls and injects failures, over any backend
/// (in memory by default). Clones share the same store, log and faults.
#[derive(Clone)]
pub struct FakeKv {
    inner: Arc<Inner>,
}

impl Default for FakeKv {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for FakeKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeKv")
            .field("calls", &self.inner.calls.count(|_| true))
            .finish_non_exhaustive()
    }
}

impl FakeKv {
    /// A fake over a fresh in-memory store.
    pub fn new() -> Self {
        Self::with_backend(Arc::new(MemoryKv::new()))
    }

    /// A fake over `backend`.
    pub fn with_backend(backend: Arc<dyn KvBackend>) -> Self {
        Self {
            inner: Arc::new(Inner {
                backend,
                calls: CallLog::default(),
                faults: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The store underneath, to seed or inspect values without logging.
    pub fn backend(&self) -> &Arc<dyn KvBackend> {
        &self.inner.backend
    }

    /// Stores `value` under `key` of `bucket` without logging a call: the
    /// state a test starts from.
    pub async fn seed(
        &self,
        bucket: &str,
        key: &str,
        value: impl Into<Vec<u8>>,
    ) -> Result<(), KvError> {
        self.inner.backend.set(bucket, key, value.into()).await
    }

    /// The value under `key` of `bucket`, read without logging a call.
    pub async fn value(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.inner.backend.get(bucket, key).await
    }

    /// Every call made so far, oldest first.
    pub fn calls(&self) -> Vec<KvCall> {
        self.inner.calls.all()
    }

    /// How many calls of `op` were made.
    pub fn count(&self, op: KvOp) -> usize {
        self.inner.calls.count(|c| c.op == op)
    }

    /// Forgets the calls made so far.
    pub fn clear_calls(&self) {
        self.inner.calls.clear();
    }

    /// Makes every call of `op` (every call at all when `None`) fail with
    /// `error`, until [`FakeKv::clear_faults`].
    pub fn fail_always(&self, op: Option<KvOp>, error: KvError) {
        lock(&self.inner.faults).push(Fault {
            op,
            error,
            remaining: None,
        });
    }

    /// Makes the next `times` calls of `op` fail with `error`.
    pub fn fail_next(&self, op: KvOp, error: KvError, times: u32) {
        lock(&self.inner.faults).push(Fault {
            op: Some(op),
            error,
            remaining: Some(times),
        });
    }

    /// Removes every injected failure.
    pub fn clear_faults(&self) {
        lock(&self.inner.faults).clear();
    }

    /// Logs a call and returns the injected failure for it, if any.
    fn enter(&self, op: KvOp, bucket: &str, key: Option<&str>) -> Result<(), KvError> {
        self.inner.calls.record(KvCall {
            op,
            bucket: bucket.to_owned(),
            key: key.map(str::to_owned),
        });
        let mut faults = lock(&self.inner.faults);
        let hit = faults
            .iter_mut()
            .position(|f| f.op.is_none_or(|o| o == op) && f.remaining != Some(0));
        let Some(index) = hit else { return Ok(()) };
        let fault = &mut faults[index];
        let error = fault.error.clone();
        if let Some(remaining) = fault.remaining.as_mut() {
            *remaining -= 1;
            if *remaining == 0 {
                faults.remove(index);
            }
        }
        Err(error)
    }
}

#[async_trait]
impl KvBackend for FakeKv {
    async fn open(&self, bucket: &str) -> Result<(), KvError> {
        self.enter(KvOp::Open, bucket, None)?;
        self.inner.backend.open(bucket).await
    }

    async fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.enter(KvOp::Get, bucket, Some(key))?;
        self.inner.backend.get(bucket, key).await
    }

    async fn set(&self, bucket: &str, key: &str, value: Vec<u8>) -> Result<(), KvError> {
        self.enter(KvOp::Set, bucket, Some(key))?;
        self.inner.backend.set(bucket, key, value).await
    }

    async fn delete(&self, bucket: &str, key: &str) -> Result<(), KvError> {
        self.enter(KvOp::Delete, bucket, Some(key))?;
        self.inner.backend.delete(bucket, key).await
    }

    async fn exists(&self, bucket: &str, key: &str) -> Result<bool, KvError> {
        self.enter(KvOp::Exists, bucket, Some(key))?;
        self.inner.backend.exists(bucket, key).await
    }

    async fn list_keys(&self, bucket: &str, cursor: Option<u64>) -> Result<KeyPage, KvError> {
        self.enter(KvOp::ListKeys, bucket, None)?;
        self.inner.backend.list_keys(bucket, cursor).await
    }

    async fn increment(&self, bucket: &str, key: &str, delta: u64) -> Result<u64, KvError> {
        self.enter(KvOp::Increment, bucket, Some(key))?;
        self.inner.backend.increment(bucket, key, delta).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn faults_fire_the_requested_number_of_times() {
        let kv = FakeKv::new();
        kv.fail_next(KvOp::Increment, KvError::Other("down".into()), 2);
        assert!(kv.increment("b", "k", 1).await.is_err());
        assert!(kv.increment("b", "k", 1).await.is_err());
        assert_eq!(kv.increment("b", "k", 1).await, Ok(1));
        assert_eq!(kv.get("b", "k").await, Ok(Some(b"1".to_vec())));
        assert_eq!(kv.count(KvOp::Increment), 3);
    }

    #[tokio::test]
    async fn seeding_and_reading_back_log_no_calls() {
        let kv = FakeKv::new();
        kv.seed("b", "k", "v").await.expect("seeded");
        assert_eq!(kv.get("b", "k").await, Ok(Some(b"v".to_vec())));
        assert_eq!(kv.value("b", "k").await, Ok(Some(b"v".to_vec())));
        assert_eq!(
            kv.calls(),
            [KvCall {
                op: KvOp::Get,
                bucket: "b".into(),
                key: Some("k".into())
            }]
        );
    }

    #[tokio::test]
    async fn persistent_faults_hit_every_matching_call() {
        let kv = FakeKv::new();
        kv.fail_always(None, KvError::AccessDenied);
        assert_eq!(kv.open("b").await, Err(KvError::AccessDenied));
        assert_eq!(kv.get("b", "k").await, Err(KvError::AccessDenied));
        kv.clear_faults();
        assert_eq!(kv.get("b", "k").await, Ok(None));
    }
}
