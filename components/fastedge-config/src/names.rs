//! How a `wasi:config` key maps onto a FastEdge variable or secret name.
//!
//! FastEdge environment variables are conventionally `UPPER_SNAKE_CASE` and
//! may not contain `-`, so the key `s3-endpoint` is the variable
//! `S3_ENDPOINT`: ASCII letters upper-cased, `-` and `.` turned into `_`.
//! Secrets are named the same way (`s3-secret-access-key` is the secret
//! `S3_SECRET_ACCESS_KEY`). A key with any other character maps to nothing,
//! so it reads as unset.

/// The FastEdge name of the config key `key`, or `None` when it has none.
pub fn fastedge_name(key: &str) -> Option<String> {
    if key.is_empty() {
        return None;
    }
    key.chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '_' => Some(c.to_ascii_uppercase()),
            '-' | '.' => Some('_'),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_upper_snake_case() {
        assert_eq!(fastedge_name("s3-endpoint").as_deref(), Some("S3_ENDPOINT"));
        assert_eq!(
            fastedge_name("s3-secret-access-key").as_deref(),
            Some("S3_SECRET_ACCESS_KEY")
        );
        assert_eq!(fastedge_name("kv.bucket").as_deref(), Some("KV_BUCKET"));
        assert_eq!(fastedge_name("ALREADY_SET").as_deref(), Some("ALREADY_SET"));
    }

    #[test]
    fn other_characters_map_to_nothing() {
        assert_eq!(fastedge_name(""), None);
        assert_eq!(fastedge_name("a b"), None);
        assert_eq!(fastedge_name("a=b"), None);
        assert_eq!(fastedge_name("ключ"), None);
    }
}
