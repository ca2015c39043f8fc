//! Where the `fastedge-config` adapter looks for a `wasi:config` key, so that
//! tests (and the README) configure a FastEdge worker the way Gcore's app
//! settings would.
//!
//! This mirrors `components/fastedge-config` (`names` and `keys`): the key
//! `s3-endpoint` is the environment variable `S3_ENDPOINT`, and the secret
//! keys are FastEdge secrets of the same upper-snake-case name. The adapter
//! tests check that both sides agree.

/// The config keys the adapter reads from `gcore:fastedge/secret`.
pub const SECRET_KEYS: [&str; 4] = [
    "s3-secret-access-key",
    "s3-session-token",
    "upload-token",
    "kv-rest-token",
];

/// Where a config key lives on FastEdge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppSetting {
    /// An environment variable (`gcore:fastedge/dictionary`) of this name.
    Env(String),
    /// A secret (`gcore:fastedge/secret`) of this name.
    Secret(String),
}

/// Where the config key `key` lives on FastEdge; `None` for a key with
/// characters no FastEdge name can hold.
pub fn app_setting(key: &str) -> Option<AppSetting> {
    if key.is_empty() {
        return None;
    }
    let name: String = key
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '_' => Some(c.to_ascii_uppercase()),
            '-' | '.' => Some('_'),
            _ => None,
        })
        .collect::<Option<String>>()?;
    Some(if SECRET_KEYS.contains(&key) {
        AppSetting::Secret(name)
    } else {
        AppSetting::Env(name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_env_vars_or_secrets() {
        assert_eq!(
            app_setting("s3-endpoint"),
            Some(AppSetting::Env("S3_ENDPOINT".into()))
        );
        assert_eq!(
            app_setting("s3-secret-access-key"),
            Some(AppSetting::Secret("S3_SECRET_ACCESS_KEY".into()))
        );
        assert_eq!(app_setting("a b"), None);
    }
}
