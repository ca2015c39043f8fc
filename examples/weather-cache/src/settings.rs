//! The component's settings, read from `wasi:config` keys.

use thiserror::Error;

/// The config key for the weather API's base URL (required), such as
/// `https://api.example.com/v1`.
pub const UPSTREAM_URL_KEY: &str = "upstream-url";
/// The config key for the `wasi:keyvalue` bucket the cache lives in.
pub const BUCKET_KEY: &str = "cache-bucket";
/// The config key for how long an entry stays fresh, in seconds.
pub const TTL_KEY: &str = "cache-ttl-seconds";

/// The bucket unless configured.
pub const DEFAULT_BUCKET: &str = "weather";
/// Freshness unless configured: five minutes.
pub const DEFAULT_TTL_SECS: u64 = 300;

/// Everything a request needs from config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Where forecasts come from.
    pub upstream: UpstreamUrl,
    /// The cache's bucket.
    pub bucket: String,
    /// How long an entry stays fresh (0: entries are stored but never used).
    pub ttl_secs: u64,
}

/// `wasi:http`'s two schemes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `http://`
    Http,
    /// `https://`
    Https,
}

/// The weather API's base URL, split the way `wasi:http` wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamUrl {
    /// The scheme.
    pub scheme: Scheme,
    /// `host` or `host:port`.
    pub authority: String,
    /// The path before `/forecast`, without a trailing `/` (often empty).
    pub base_path: String,
}

impl UpstreamUrl {
    /// Parses `http(s)://authority[/path]`; a query or fragment is refused,
    /// since the component appends its own query.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        const EXPECTED: &str = "an http:// or https:// URL with a host, and no query or fragment";
        let text = text.trim();
        let (scheme, rest) = if let Some(rest) = text.strip_prefix("http://") {
            (Scheme::Http, rest)
        } else if let Some(rest) = text.strip_prefix("https://") {
            (Scheme::Https, rest)
        } else {
            return Err(EXPECTED);
        };
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let authority_ok = !authority.is_empty()
            && !authority
                .chars()
                .any(|c| c.is_whitespace() || c == '@' || c.is_control());
        if !authority_ok || path.contains(['?', '#', ' ']) {
            return Err(EXPECTED);
        }
        Ok(Self {
            scheme,
            authority: authority.to_owned(),
            base_path: path.trim_end_matches('/').to_owned(),
        })
    }

    /// The path and query of the forecast for `query_value` (already
    /// escaped): `{base path}/forecast?city={query_value}`.
    pub fn forecast_path(&self, query_value: &str) -> String {
        format!("{}/forecast?city={query_value}", self.base_path)
    }
}

/// A config value that is missing or cannot be used; the message names the
/// key.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SettingsError {
    /// A required key is not set.
    #[error("config key `{0}` is not set")]
    Missing(&'static str),
    /// The value is present but not acceptable.
    #[error("config key `{key}` is {value:?}: expected {expected}")]
    Invalid {
        /// The config key.
        key: &'static str,
        /// The value found.
        value: String,
        /// What would have been accepted.
        expected: &'static str,
    },
    /// The config store itself failed.
    #[error("cannot read config key `{key}`: {message}")]
    Unreadable {
        /// The config key.
        key: &'static str,
        /// What the store said.
        message: String,
    },
}

impl Settings {
    /// Reads the settings through `get`, which returns a key's value (or
    /// `None` when unset), or the store's error message.
    pub fn read(
        get: impl Fn(&'static str) -> Result<Option<String>, String>,
    ) -> Result<Self, SettingsError> {
        let value = |key: &'static str| {
            get(key).map_err(|message| SettingsError::Unreadable { key, message })
        };
        let url = value(UPSTREAM_URL_KEY)?.ok_or(SettingsError::Missing(UPSTREAM_URL_KEY))?;
        let upstream = UpstreamUrl::parse(&url).map_err(|expected| SettingsError::Invalid {
            key: UPSTREAM_URL_KEY,
            value: url.clone(),
            expected,
        })?;
        let bucket = match value(BUCKET_KEY)? {
            None => DEFAULT_BUCKET.to_owned(),
            Some(text) if !text.trim().is_empty() => text.trim().to_owned(),
            Some(text) => {
                return Err(SettingsError::Invalid {
                    key: BUCKET_KEY,
                    value: text,
                    expected: "a bucket name",
                });
            }
        };
        let ttl_secs = match value(TTL_KEY)? {
            None => DEFAULT_TTL_SECS,
            Some(text) => text.trim().parse().map_err(|_| SettingsError::Invalid {
                key: TTL_KEY,
                value: text,
                expected: "a whole number of seconds",
            })?,
        };
        Ok(Self {
            upstream,
            bucket,
            ttl_secs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        Settings::read(|key| {
            Ok(pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned()))
        })
    }

    #[test]
    fn defaults_apply_beside_the_required_url() {
        assert_eq!(
            read(&[(UPSTREAM_URL_KEY, "http://weather.test")]),
            Ok(Settings {
                upstream: UpstreamUrl {
                    scheme: Scheme::Http,
                    authority: "weather.test".into(),
                    base_path: String::new(),
                },
                bucket: "weather".into(),
                ttl_secs: 300,
            })
        );
    }

    #[test]
    fn values_are_read_and_trimmed() {
        let settings = read(&[
            (UPSTREAM_URL_KEY, " https://api.example.com:8443/v1/ "),
            (BUCKET_KEY, " forecasts "),
            (TTL_KEY, "60"),
        ])
        .expect("valid");
        assert_eq!(settings.upstream.scheme, Scheme::Https);
        assert_eq!(settings.upstream.authority, "api.example.com:8443");
        assert_eq!(
            settings.upstream.forecast_path("new%20york"),
            "/v1/forecast?city=new%20york"
        );
        assert_eq!(settings.bucket, "forecasts");
        assert_eq!(settings.ttl_secs, 60);
    }

    #[test]
    fn a_missing_url_is_named() {
        let error = read(&[]).expect_err("required");
        assert_eq!(error.to_string(), "config key `upstream-url` is not set");
    }

    #[test]
    fn bad_values_name_their_key() {
        for (key, value) in [
            (UPSTREAM_URL_KEY, "weather.test"),
            (UPSTREAM_URL_KEY, "ftp://weather.test"),
            (UPSTREAM_URL_KEY, "http://"),
            (UPSTREAM_URL_KEY, "http://user@weather.test"),
            (UPSTREAM_URL_KEY, "http://weather.test/?key=1"),
            (BUCKET_KEY, " "),
            (TTL_KEY, "-1"),
            (TTL_KEY, "5m"),
        ] {
            let mut pairs = vec![(UPSTREAM_URL_KEY, "http://weather.test")];
            pairs.retain(|(k, _)| *k != key);
            pairs.push((key, value));
            let error = read(&pairs).expect_err(value).to_string();
            assert!(error.contains(&format!("`{key}`")), "{error}");
        }
    }

    #[test]
    fn a_failing_store_is_an_error_naming_the_key() {
        let error = Settings::read(|_| Err("store down".into())).expect_err("fails");
        assert_eq!(
            error.to_string(),
            "cannot read config key `upstream-url`: store down"
        );
    }
}
