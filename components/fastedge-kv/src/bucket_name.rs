//! Bucket identifiers and how a bucket's keys map onto FastEdge cache keys.
//!
//! `cache-sync` is one flat key space per app, so every bucket is a prefix in
//! it: the key `k` of the bucket `b` is the cache key `b/k`. A bucket
//! identifier may therefore not contain `/` (the mapping would no longer be
//! one-to-one), and it may not be empty.

use crate::error::KvError;

/// The longest bucket identifier accepted, in bytes.
pub const MAX_BUCKET_LEN: usize = 128;

/// The character that separates a bucket from a key in a cache key.
pub const SEPARATOR: char = '/';

/// Checks a bucket identifier; an unacceptable one names no store.
pub fn validate(identifier: &str) -> Result<(), KvError> {
    let acceptable = !identifier.is_empty()
        && identifier.len() <= MAX_BUCKET_LEN
        && !identifier.contains(SEPARATOR)
        && !identifier.chars().any(char::is_control);
    if acceptable {
        Ok(())
    } else {
        Err(KvError::NoSuchStore)
    }
}

/// The cache key that stores `key` of the (valid) bucket `bucket`.
pub fn cache_key(bucket: &str, key: &str) -> String {
    format!("{bucket}{SEPARATOR}{key}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_by_their_bucket() {
        assert_eq!(cache_key("default", "page_views"), "default/page_views");
        assert_eq!(cache_key("b", "a/b"), "b/a/b");
        assert_eq!(cache_key("b", ""), "b/");
    }

    #[test]
    fn bucket_identifiers_are_checked() {
        assert_eq!(validate("default"), Ok(()));
        assert_eq!(validate("rate-limits.v2"), Ok(()));
        assert_eq!(validate(""), Err(KvError::NoSuchStore));
        assert_eq!(validate("a/b"), Err(KvError::NoSuchStore));
        assert_eq!(validate("a\nb"), Err(KvError::NoSuchStore));
        assert_eq!(validate(&"x".repeat(129)), Err(KvError::NoSuchStore));
        assert_eq!(validate(&"x".repeat(128)), Ok(()));
    }
}
