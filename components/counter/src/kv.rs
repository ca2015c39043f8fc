//! The key-value operations the counter needs, as a trait so that the
//! logic runs against a fake in host tests.

use crate::errors::KvError;

/// The two `wasi:keyvalue` calls a counter makes.
pub trait Kv {
    /// Atomically adds `delta` to `key` in `bucket` (`atomics.increment`) and
    /// returns the new value.
    fn increment(&self, bucket: &str, key: &str, delta: u64) -> Result<u64, KvError>;

    /// Reads `key` from `bucket`; `None` when it does not exist.
    fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, KvError>;
}
