//! The adapter's settings, read through `wasi:config/store`.
//!
//! - `kv-rest-url` (required): the REST endpoint's base URL,
//!   `http(s)://host[:port][/path-prefix]`. It may carry no credentials
//!   (`user:password@`), no query and no fragment.
//! - `kv-rest-token` (required, a secret): sent as `Authorization: Bearer`.
//!   It appears in no message and no `Debug` output ([`Token`]).
//! - `kv-rest-key-prefix` (default empty): prepended to every Redis key, so
//!   that several apps can share one database.
//! - `kv-rest-timeout-ms` (default [`DEFAULT_TIMEOUT_MS`]): the connect,
//!   first-byte and between-bytes timeouts of every request.

use std::fmt;

use thiserror::Error;

/// The config key of the endpoint's base URL.
pub const URL_KEY: &str = "kv-rest-url";
/// The config key of the bearer token (a secret).
pub const TOKEN_KEY: &str = "kv-rest-token";
/// The config key of the prefix of every Redis key.
pub const PREFIX_KEY: &str = "kv-rest-key-prefix";
/// The config key of the request timeouts, in milliseconds.
pub const TIMEOUT_KEY: &str = "kv-rest-timeout-ms";

/// The request timeouts when `kv-rest-timeout-ms` is not set: a counter
/// sits on a request's path, so a slow Redis must fail fast rather than
/// hold the client.
pub const DEFAULT_TIMEOUT_MS: u64 = 2000;
/// The longest timeout accepted: anything longer is a typo (seconds given
/// as milliseconds the other way round are caught by no bound, sadly).
pub const MAX_TIMEOUT_MS: u64 = 300_000;

/// Why the settings cannot be used. No variant ever carries the token or
/// the URL itself (which might hold credentials), only key names and
/// reasons.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// A required key is unset or empty.
    #[error("redis-rest-kv: {key} is not set ({what})")]
    Missing {
        /// The config key.
        key: &'static str,
        /// What the key should hold.
        what: &'static str,
    },
    /// A key's value cannot be used.
    #[error("redis-rest-kv: {key} is invalid: {reason}")]
    Invalid {
        /// The config key.
        key: &'static str,
        /// Why, without the value.
        reason: String,
    },
    /// `wasi:config/store` could not be read.
    #[error("redis-rest-kv: reading {key} from wasi:config failed: {message}")]
    Lookup {
        /// The config key.
        key: &'static str,
        /// The config store's explanation (left out for the token).
        message: String,
    },
}

/// The scheme of the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP (a gateway on the same host or network).
    Http,
    /// HTTPS (Upstash, or a gateway behind TLS).
    Https,
}

impl Scheme {
    /// `http` or `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// Where the REST endpoint is. It displays as `scheme://host[:port]`
/// only, the form every error message names it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `http` or `https`.
    pub scheme: Scheme,
    /// `host` or `host:port`, as configured (never with userinfo).
    pub authority: String,
    /// The path every request path is appended to: empty, or `/…` without
    /// a trailing `/`.
    pub path_prefix: String,
}

impl Endpoint {
    /// Parses a base URL. The reason for refusing one never repeats the
    /// URL, which may carry credentials.
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        let (scheme, rest) = if let Some(rest) = strip_prefix_ignore_case(url, "https://") {
            (Scheme::Https, rest)
        } else if let Some(rest) = strip_prefix_ignore_case(url, "http://") {
            (Scheme::Http, rest)
        } else {
            return Err("it must start with http:// or https://".to_owned());
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        if authority.contains('@') {
            return Err(format!(
                "it must not carry credentials (user:password@): put the token in {TOKEN_KEY}"
            ));
        }
        check_authority(authority)?;
        if path.contains(['?', '#']) {
            return Err("it must have no query and no fragment".to_owned());
        }
        if path.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err("its path must not contain spaces or control characters".to_owned());
        }
        Ok(Self {
            scheme,
            authority: authority.to_owned(),
            path_prefix: path.trim_end_matches('/').to_owned(),
        })
    }

    /// The path-with-query of a request to `path` (which starts with `/`)
    /// under the configured prefix.
    pub fn path(&self, path: &str) -> String {
        format!("{}{path}", self.path_prefix)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme.as_str(), self.authority)
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// Accepts `host`, `host:port` and `[v6]:port` with a port of 1 to 65535.
fn check_authority(authority: &str) -> Result<(), String> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (inside, after) = v6
            .split_once(']')
            .ok_or_else(|| "its IPv6 host lacks a closing `]`".to_owned())?;
        if inside.is_empty() || !inside.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
            return Err("its IPv6 host is malformed".to_owned());
        }
        match after {
            "" => (inside, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (inside, Some(port)),
                None => return Err("its host is malformed".to_owned()),
            },
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("it has no host".to_owned());
    }
    if !authority.starts_with('[')
        && !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')
    {
        return Err("its host may hold only letters, digits, `.`, `-` and `_`".to_owned());
    }
    if let Some(port) = port {
        match port.parse::<u16>() {
            Ok(p) if p > 0 && port.bytes().all(|b| b.is_ascii_digit()) => {}
            _ => return Err("its port must be a number from 1 to 65535".to_owned()),
        }
    }
    Ok(())
}

/// The bearer token. Its `Debug` shows no part of it, and nothing else in
/// the crate formats it but [`Token::authorization`].
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a token; `None` when it is empty or holds a byte an HTTP header
    /// value cannot carry (only visible ASCII is accepted).
    pub fn new(token: &str) -> Option<Self> {
        let token = token.trim();
        let fits = !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic());
        fits.then(|| Self(token.to_owned()))
    }

    /// The `Authorization` header value, `Bearer <token>`.
    pub fn authorization(&self) -> String {
        format!("Bearer {}", self.0)
    }

    /// The token itself, for scrubbing messages ([`crate::error::KvError::scrub`]).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([redacted])")
    }
}

/// The adapter's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where to send commands.
    pub endpoint: Endpoint,
    /// The bearer token.
    pub token: Token,
    /// The prefix of every Redis key (may be empty).
    pub key_prefix: String,
    /// The connect, first-byte and between-bytes timeouts, in milliseconds.
    pub timeout_ms: u64,
}

impl Config {
    /// Reads the settings through `lookup` (a `wasi:config/store.get`: the
    /// value of a key, `None` when unset, or an explanation of failure).
    pub fn from_lookup(
        mut lookup: impl FnMut(&str) -> Result<Option<String>, String>,
    ) -> Result<Self, ConfigError> {
        let mut read = |key: &'static str| -> Result<Option<String>, ConfigError> {
            match lookup(key) {
                Ok(value) => Ok(value.filter(|v| !v.trim().is_empty())),
                Err(message) => Err(ConfigError::Lookup {
                    key,
                    // The store's own words might quote what it read.
                    message: if key == TOKEN_KEY {
                        "the config store failed".to_owned()
                    } else {
                        message
                    },
                }),
            }
        };
        let url = read(URL_KEY)?.ok_or(ConfigError::Missing {
            key: URL_KEY,
            what: "the base URL of the Redis REST endpoint, http(s)://host[:port][/prefix]",
        })?;
        let endpoint = Endpoint::parse(&url).map_err(|reason| ConfigError::Invalid {
            key: URL_KEY,
            reason,
        })?;
        let token = read(TOKEN_KEY)?.ok_or(ConfigError::Missing {
            key: TOKEN_KEY,
            what: "the bearer token of the Redis REST endpoint",
        })?;
        let token = Token::new(&token).ok_or_else(|| ConfigError::Invalid {
            key: TOKEN_KEY,
            reason: "it holds a character an HTTP header cannot carry (only visible ASCII)"
                .to_owned(),
        })?;
        let key_prefix = read(PREFIX_KEY)?.unwrap_or_default();
        let timeout_ms = match read(TIMEOUT_KEY)? {
            None => DEFAULT_TIMEOUT_MS,
            Some(text) => match text.trim().parse::<u64>() {
                Ok(ms) if (1..=MAX_TIMEOUT_MS).contains(&ms) => ms,
                _ => {
                    return Err(ConfigError::Invalid {
                        key: TIMEOUT_KEY,
                        reason: format!(
                            "it must be a whole number of milliseconds from 1 to {MAX_TIMEOUT_MS}"
                        ),
                    });
                }
            },
        };
        Ok(Self {
            endpoint,
            token,
            key_prefix,
            timeout_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const TOKEN: &str = "AXXXsecret-token-1234";

    fn lookup(
        pairs: &[(&str, &str)],
    ) -> impl FnMut(&str) -> Result<Option<String>, String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |key| Ok(map.get(key).cloned())
    }

    #[test]
    fn a_full_configuration_is_read() {
        let config = Config::from_lookup(lookup(&[
            (URL_KEY, " https://eu1-x.upstash.io/v1/ "),
            (TOKEN_KEY, TOKEN),
            (PREFIX_KEY, "app1:"),
            (TIMEOUT_KEY, "750"),
        ]))
        .unwrap();
        assert_eq!(
            config.endpoint,
            Endpoint {
                scheme: Scheme::Https,
                authority: "eu1-x.upstash.io".into(),
                path_prefix: "/v1".into(),
            }
        );
        assert_eq!(config.endpoint.path("/"), "/v1/");
        assert_eq!(config.token.authorization(), format!("Bearer {TOKEN}"));
        assert_eq!(config.key_prefix, "app1:");
        assert_eq!(config.timeout_ms, 750);
        assert!(!format!("{config:?}").contains(TOKEN));
    }

    #[test]
    fn defaults_fill_the_optional_keys() {
        let config = Config::from_lookup(lookup(&[
            (URL_KEY, "http://127.0.0.1:8079"),
            (TOKEN_KEY, TOKEN),
        ]))
        .unwrap();
        assert_eq!(config.endpoint.to_string(), "http://127.0.0.1:8079");
        assert_eq!(config.endpoint.path("/"), "/");
        assert_eq!(config.key_prefix, "");
        assert_eq!(config.timeout_ms, DEFAULT_TIMEOUT_MS);
    }

    #[test]
    fn missing_required_keys_are_named() {
        let error = Config::from_lookup(lookup(&[(TOKEN_KEY, TOKEN)])).unwrap_err();
        assert!(
            error.to_string().contains("kv-rest-url is not set"),
            "{error}"
        );
        let error =
            Config::from_lookup(lookup(&[(URL_KEY, "  "), (TOKEN_KEY, TOKEN)])).unwrap_err();
        assert!(
            error.to_string().contains("kv-rest-url is not set"),
            "{error}"
        );
        let error = Config::from_lookup(lookup(&[(URL_KEY, "http://h")])).unwrap_err();
        assert!(
            error.to_string().contains("kv-rest-token is not set"),
            "{error}"
        );
    }

    #[test]
    fn urls_are_checked_without_being_repeated() {
        for (url, reason) in [
            ("redis://h:6379", "http:// or https://"),
            ("h:8079", "http:// or https://"),
            ("https://user:pa55word@h", "credentials"),
            ("https://h/?x=1", "query"),
            ("https://h#f", "query"),
            ("http://", "no host"),
            ("http://h:0", "port"),
            ("http://h:99999", "port"),
            ("http://h:+80", "port"),
            ("http://h h", "host"),
            ("http://[::1", "closing"),
        ] {
            let error =
                Config::from_lookup(lookup(&[(URL_KEY, url), (TOKEN_KEY, TOKEN)])).unwrap_err();
            let text = error.to_string();
            assert!(text.contains("kv-rest-url is invalid"), "{url}: {text}");
            assert!(text.contains(reason), "{url}: {text}");
            assert!(!text.contains("pa55word"), "{text}");
        }
        let v6 = Endpoint::parse("HTTP://[::1]:8079").unwrap();
        assert_eq!(v6.to_string(), "http://[::1]:8079");
    }

    #[test]
    fn bad_timeouts_and_tokens_are_refused_without_the_token() {
        for bad in ["0", "-1", "2s", "300001"] {
            let error = Config::from_lookup(lookup(&[
                (URL_KEY, "http://h"),
                (TOKEN_KEY, TOKEN),
                (TIMEOUT_KEY, bad),
            ]))
            .unwrap_err();
            assert!(error.to_string().contains("kv-rest-timeout-ms"), "{error}");
        }
        let error =
            Config::from_lookup(lookup(&[(URL_KEY, "http://h"), (TOKEN_KEY, "to ken\u{1}")]))
                .unwrap_err();
        let text = format!("{error} {error:?}");
        assert!(text.contains("kv-rest-token is invalid"), "{text}");
        assert!(!text.contains("to ken"), "{text}");
    }

    #[test]
    fn a_failing_config_store_is_named_but_never_quoted_for_the_token() {
        let error = Config::from_lookup(|key| {
            if key == TOKEN_KEY {
                Err(format!("cannot decrypt {TOKEN}"))
            } else {
                Ok(Some("http://h".into()))
            }
        })
        .unwrap_err();
        let text = format!("{error} {error:?}");
        assert!(text.contains("reading kv-rest-token"), "{text}");
        assert!(!text.contains(TOKEN), "{text}");
        let error = Config::from_lookup(|_| Err("I/O error: gone".into())).unwrap_err();
        assert!(error.to_string().contains("I/O error: gone"), "{error}");
    }

    #[test]
    fn the_token_never_shows_in_debug() {
        let token = Token::new(TOKEN).unwrap();
        assert_eq!(format!("{token:?}"), "Token([redacted])");
        assert_eq!(Token::new(""), None);
        assert_eq!(Token::new("a\u{7f}"), None);
    }
}
