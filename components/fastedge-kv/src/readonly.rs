//! Which buckets are FastEdge `key-value` stores (read-only) rather than
//! `cache-sync` namespaces.
//!
//! The app's environment variable [`READONLY_BUCKETS_VAR`] lists them,
//! comma-separated (`KV_READONLY_BUCKETS=flags,tenants`); spaces around names
//! and empty entries are ignored. The adapter reads it through
//! `gcore:fastedge/dictionary` on every `open`.

/// The environment variable that lists the read-only buckets.
pub const READONLY_BUCKETS_VAR: &str = "KV_READONLY_BUCKETS";

/// Whether `bucket` is listed in the value of [`READONLY_BUCKETS_VAR`].
pub fn is_listed(list: Option<&str>, bucket: &str) -> bool {
    list.is_some_and(|list| {
        list.split(',')
            .map(str::trim)
            .any(|b| !b.is_empty() && b == bucket)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_listed_comma_separated() {
        assert!(is_listed(Some("flags"), "flags"));
        assert!(is_listed(Some("a, flags ,b"), "flags"));
        assert!(!is_listed(Some("flagsx,b"), "flags"));
        assert!(!is_listed(Some(""), "flags"));
        assert!(!is_listed(None, "flags"));
    }

    #[test]
    fn empty_entries_never_match() {
        assert!(!is_listed(Some(",,"), ""));
    }
}
