//! Bucket identifiers and how a bucket's keys map onto Redis keys.
//!
//! Redis is one flat key space, so a bucket is a prefix in it: the key `k`
//! of the bucket `b` is the Redis key `{prefix}{b}:{k}`, where `prefix` is
//! `kv-rest-key-prefix`. A bucket identifier may therefore not contain `:`
//! (else the buckets `a` and `a:b` would share keys), nor be empty.

use crate::error::KvError;

/// The character between a bucket and a key in a Redis key.
pub const SEPARATOR: char = ':';

/// Checks a bucket identifier; an unacceptable one names no store.
pub fn validate_bucket(identifier: &str) -> Result<(), KvError> {
    if identifier.is_empty() || identifier.contains(SEPARATOR) {
        Err(KvError::NoSuchStore)
    } else {
        Ok(())
    }
}

/// What every Redis key of the (valid) bucket `bucket` starts with.
pub fn bucket_prefix(key_prefix: &str, bucket: &str) -> String {
    format!("{key_prefix}{bucket}{SEPARATOR}")
}

/// The Redis key that stores `key` of the (valid) bucket `bucket`.
pub fn redis_key(key_prefix: &str, bucket: &str, key: &str) -> String {
    format!("{}{key}", bucket_prefix(key_prefix, bucket))
}

/// `literal` as a Redis glob pattern that matches exactly it: `*`, `?`,
/// `[`, `]` and `\` get a backslash, so that a prefix or bucket holding
/// them cannot widen a `SCAN MATCH` to other buckets' keys.
pub fn glob_escape(literal: &str) -> String {
    let mut escaped = String::with_capacity(literal.len());
    for c in literal.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// The `SCAN MATCH` pattern of every key of a bucket whose Redis keys start
/// with `bucket_prefix`.
pub fn scan_pattern(bucket_prefix: &str) -> String {
    format!("{}*", glob_escape(bucket_prefix))
}

/// The bucket's key for the Redis key `redis_key`, or `None` when it does
/// not carry `bucket_prefix` or the rest is not UTF-8 (a `wasi:keyvalue` key
/// is a string): another writer's key, which the bucket does not list.
pub fn strip(bucket_prefix: &str, redis_key: &[u8]) -> Option<String> {
    let rest = redis_key.strip_prefix(bucket_prefix.as_bytes())?;
    String::from_utf8(rest.to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_by_the_prefix_and_their_bucket() {
        assert_eq!(redis_key("", "default", "page_views"), "default:page_views");
        assert_eq!(redis_key("app1/", "b", "a:b"), "app1/b:a:b");
        assert_eq!(redis_key("", "b", ""), "b:");
        assert_eq!(bucket_prefix("p:", "b"), "p:b:");
    }

    #[test]
    fn bucket_identifiers_are_checked() {
        assert_eq!(validate_bucket("default"), Ok(()));
        assert_eq!(validate_bucket("rate-limits.v2/x"), Ok(()));
        assert_eq!(validate_bucket(""), Err(KvError::NoSuchStore));
        assert_eq!(validate_bucket("a:b"), Err(KvError::NoSuchStore));
        assert_eq!(validate_bucket(":"), Err(KvError::NoSuchStore));
    }

    #[test]
    fn glob_characters_are_escaped() {
        assert_eq!(glob_escape("plain-1.x"), "plain-1.x");
        assert_eq!(glob_escape(r"a*b?c[d]e\f"), r"a\*b\?c\[d\]e\\f");
        assert_eq!(scan_pattern("p*:b:"), r"p\*:b:*");
    }

    #[test]
    fn listed_keys_lose_their_prefix_or_are_skipped() {
        assert_eq!(strip("p:b:", b"p:b:k1").as_deref(), Some("k1"));
        assert_eq!(strip("p:b:", b"p:b:").as_deref(), Some(""));
        assert_eq!(strip("p:b:", b"p:bb:k1"), None);
        assert_eq!(strip("p:b:", b"p:b:\xff"), None);
    }
}
