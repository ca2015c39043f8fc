//! The component's configuration, read through `wasi:config/store`.

use crate::errors::ConfigError;

/// Config key naming the `wasi:keyvalue` bucket that holds the counters.
pub const KEY_BUCKET: &str = "kv-bucket";
/// Config key naming a prefix put in front of every counter name.
pub const KEY_PREFIX: &str = "counter-prefix";
/// The bucket used when `kv-bucket` is not set.
pub const DEFAULT_BUCKET: &str = "default";

/// Where configuration values come from: `wasi:config/store` in the
/// component, a map in tests.
pub trait ConfigSource {
    /// Returns the value of `key`, `None` when it is not set.
    fn get(&self, key: &str) -> Result<Option<String>, ConfigError>;
}

/// The counter component's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The key-value bucket to open.
    pub bucket: String,
    /// Prepended to every counter name to form the stored key.
    pub prefix: String,
}

impl Config {
    /// Reads the settings from `source`, filling in defaults. An empty
    /// `kv-bucket` counts as unset: an empty identifier names no store.
    pub fn load(source: &impl ConfigSource) -> Result<Self, ConfigError> {
        let bucket = source
            .get(KEY_BUCKET)?
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| DEFAULT_BUCKET.to_owned());
        let prefix = source.get(KEY_PREFIX)?.unwrap_or_default();
        Ok(Self { bucket, prefix })
    }

    /// The key-value key that stores the counter `name`.
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A config store backed by a map, or failing on every read.
    #[derive(Default)]
    pub(crate) struct MapConfig {
        pub values: HashMap<String, String>,
        pub fail: Option<String>,
    }

    impl MapConfig {
        pub fn with(pairs: &[(&str, &str)]) -> Self {
            Self {
                values: pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                fail: None,
            }
        }
    }

    impl ConfigSource for MapConfig {
        fn get(&self, key: &str) -> Result<Option<String>, ConfigError> {
            match &self.fail {
                Some(msg) => Err(ConfigError {
                    key: key.to_owned(),
                    message: msg.clone(),
                }),
                None => Ok(self.values.get(key).cloned()),
            }
        }
    }

    #[test]
    fn defaults_when_unset() {
        let config = Config::load(&MapConfig::default()).unwrap();
        assert_eq!(config.bucket, "default");
        assert_eq!(config.prefix, "");
        assert_eq!(config.key("page_views"), "page_views");
    }

    #[test]
    fn reads_both_keys() {
        let source = MapConfig::with(&[("kv-bucket", "counters"), ("counter-prefix", "site1:")]);
        let config = Config::load(&source).unwrap();
        assert_eq!(config.bucket, "counters");
        assert_eq!(config.key("page_views"), "site1:page_views");
    }

    #[test]
    fn empty_bucket_means_default() {
        let config = Config::load(&MapConfig::with(&[("kv-bucket", "")])).unwrap();
        assert_eq!(config.bucket, "default");
    }

    #[test]
    fn config_errors_propagate() {
        let source = MapConfig {
            fail: Some("backend down".to_owned()),
            ..MapConfig::default()
        };
        let err = Config::load(&source).unwrap_err();
        assert_eq!(err.key, "kv-bucket");
        assert_eq!(err.message, "backend down");
    }
}
