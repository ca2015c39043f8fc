//! Configuration values behind the host's `wasi:config/store`.

use std::collections::BTreeMap;

use crate::bindings::counter::wasi::config::store;
use crate::state::HostState;

/// Configuration values handed to guests through `wasi:config/store`.
///
/// Keys are the component's own (`s3-endpoint`, `kv-bucket`, ...); see the
/// README for the full list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigValues {
    values: BTreeMap<String, String>,
}

impl ConfigValues {
    /// No values at all.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value`, replacing any earlier value.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.values.insert(key.into(), value.into());
        self
    }

    /// Builder form of [`ConfigValues::set`].
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.set(key, value);
        self
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &str) -> &mut Self {
        self.values.remove(key);
        self
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// Every key and value, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Parses `KEY=VALUE`, as given on a command line.
    pub fn parse_assignment(text: &str) -> Result<(String, String), String> {
        match text.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => {
                Ok((key.trim().to_owned(), value.to_owned()))
            }
            _ => Err(format!("expected KEY=VALUE, got {text:?}")),
        }
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for ConfigValues {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self {
            values: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

impl store::Host for HostState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<String>, store::Error>> {
        Ok(Ok(self.config.get(&key).map(str::to_owned)))
    }

    async fn get_all(&mut self) -> wasmtime::Result<Result<Vec<(String, String)>, store::Error>> {
        Ok(Ok(self
            .config
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_split_on_the_first_equals_sign() {
        assert_eq!(
            ConfigValues::parse_assignment("s3-endpoint=http://x?a=b"),
            Ok(("s3-endpoint".into(), "http://x?a=b".into()))
        );
        assert!(ConfigValues::parse_assignment("novalue").is_err());
        assert!(ConfigValues::parse_assignment("=v").is_err());
    }
}
