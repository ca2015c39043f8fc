//! Key-value stores behind the host's `wasi:keyvalue/{store,atomics}`.
//!
//! A [`KvBackend`] is the storage: [`MemoryKv`], [`RedbKv`] (feature
//! `redb`) or [`RedisKv`] (feature `redis`). The host's `wasi:keyvalue`
//! bindings (in `host_impl`) talk to whichever backend the context holds;
//! the test kit wraps backends with call logs, failures and PoPs.

mod backend;
mod host_impl;
mod memory;
#[cfg(feature = "redb")]
mod redb_store;
#[cfg(feature = "redis")]
mod redis_store;

pub use backend::{KeyPage, KvBackend, KvError};
pub use memory::MemoryKv;
#[cfg(feature = "redb")]
pub use redb_store::RedbKv;
#[cfg(feature = "redis")]
pub use redis_store::RedisKv;

/// The host's representation of an open `wasi:keyvalue/store.bucket`.
#[derive(Debug, Clone)]
pub struct BucketHandle {
    /// The identifier the guest passed to `open`.
    pub name: String,
}

/// Parses a stored counter value: ASCII decimal, as the FastEdge KV post
/// stores its page views, so that other tools can read counters too.
pub fn parse_decimal(value: &[u8]) -> Result<u64, KvError> {
    std::str::from_utf8(value)
        .ok()
        .map(str::trim)
        .and_then(|text| text.parse::<u64>().ok())
        .ok_or_else(|| KvError::Other("value is not an ASCII decimal number".into()))
}

/// Adds `delta` to a stored value (absent counts as 0), refusing to wrap:
/// the increment every backend implements, in one place.
pub fn add_to_stored(current: Option<&[u8]>, delta: u64) -> Result<u64, KvError> {
    let current = current.map(parse_decimal).transpose()?.unwrap_or(0);
    current
        .checked_add(delta)
        .ok_or_else(|| KvError::Other("increment would overflow u64".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_values_parse_with_surrounding_whitespace() {
        assert_eq!(parse_decimal(b"42"), Ok(42));
        assert_eq!(parse_decimal(b" 7\n"), Ok(7));
        assert!(parse_decimal(b"seven").is_err());
        assert!(parse_decimal(b"-1").is_err());
        assert!(parse_decimal(&[0xff]).is_err());
    }

    #[test]
    fn increments_refuse_to_wrap() {
        assert_eq!(add_to_stored(None, 5), Ok(5));
        assert_eq!(add_to_stored(Some(b"5"), 5), Ok(10));
        assert!(add_to_stored(Some(b"18446744073709551615"), 1).is_err());
    }
}
