//! The edgeplug config keys: which are secrets, and which `get-all` reports.

/// Keys read from `gcore:fastedge/secret` rather than from the environment.
/// They never fall back to an environment variable: a secret left in plain
/// configuration would be readable in Gcore's app settings.
pub const SECRET_KEYS: [&str; 4] = [
    "s3-secret-access-key",
    "s3-session-token",
    "upload-token",
    "kv-rest-token",
];

/// Every key the edgeplug components read. FastEdge's dictionary cannot be
/// enumerated, so `get-all` reports the ones of these that are set.
pub const KNOWN_KEYS: [&str; 29] = [
    "kv-bucket",
    "counter-prefix",
    "s3-endpoint",
    "s3-bucket",
    "s3-access-key-id",
    "s3-secret-access-key",
    "s3-session-token",
    "s3-region",
    "s3-addressing",
    "s3-key-prefix",
    "s3-refuse-overwrite",
    "s3-connect-timeout-ms",
    "s3-first-byte-timeout-ms",
    "s3-between-bytes-timeout-ms",
    "s3-multipart-threshold",
    "s3-part-size",
    "s3-retry-max-attempts",
    "s3-retry-base-ms",
    "s3-retry-max-backoff-ms",
    "s3-retry-deadline-ms",
    "max-upload-bytes",
    "max-increment",
    "upload-token",
    "allow-anonymous-uploads",
    "allow-anonymous-counter-writes",
    "kv-rest-url",
    "kv-rest-token",
    "kv-rest-key-prefix",
    "kv-rest-timeout-ms",
];

/// Whether `key` is read from the secret store.
pub fn is_secret(key: &str) -> bool {
    SECRET_KEYS.contains(&key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_tokens_are_secrets() {
        assert!(is_secret("s3-secret-access-key"));
        assert!(is_secret("upload-token"));
        assert!(is_secret("kv-rest-token"));
        assert!(!is_secret("kv-rest-url"));
        assert!(!is_secret("s3-access-key-id"));
        assert!(!is_secret("S3_SECRET_ACCESS_KEY"));
    }

    #[test]
    fn every_secret_is_a_known_key() {
        assert!(SECRET_KEYS.iter().all(|k| KNOWN_KEYS.contains(k)));
    }
}
