//! The limiter's settings, read from `wasi:config` keys.

use thiserror::Error;

/// The config key for how many requests a client may send per window.
pub const REQUESTS_KEY: &str = "rate-limit-requests";
/// The config key for the window's length, in seconds.
pub const WINDOW_KEY: &str = "rate-limit-window-seconds";
/// The config key naming the header that identifies a client.
pub const CLIENT_HEADER_KEY: &str = "rate-limit-client-header";
/// The config key for what to do when the counter fails: `open` or `closed`.
pub const ON_ERROR_KEY: &str = "rate-limit-on-error";

/// Requests per window unless configured.
pub const DEFAULT_REQUESTS: u64 = 10;
/// Window length unless configured: one minute.
pub const DEFAULT_WINDOW_SECS: u64 = 60;
/// The client header unless configured: what edge platforms commonly set to
/// the connecting address.
pub const DEFAULT_CLIENT_HEADER: &str = "x-client-ip";

/// The longest window accepted: a week. Longer ones are almost certainly a
/// unit mistake (milliseconds for seconds).
pub const MAX_WINDOW_SECS: u64 = 7 * 24 * 3600;

/// What happens to a request when the counter cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// Let it through: an outage of the store does not take the site down.
    Open,
    /// Refuse it with 503: nothing gets through unmetered.
    Closed,
}

/// Everything the limiter needs to decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// How many requests a client may send per window (at least 1).
    pub requests: u64,
    /// The window's length in seconds (1 to [`MAX_WINDOW_SECS`]).
    pub window_secs: u64,
    /// The header naming the client, lower case.
    pub client_header: String,
    /// What to do when the counter fails.
    pub on_error: OnError,
}

/// A config value that cannot be used; the message names the key.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SettingsError {
    /// The value is present but not acceptable.
    #[error("config key `{key}` is {value:?}: {expected}")]
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
        let requests = match value(REQUESTS_KEY)? {
            None => DEFAULT_REQUESTS,
            Some(text) => {
                parse_within(REQUESTS_KEY, &text, 1, u64::MAX, "an integer of at least 1")?
            }
        };
        let window_secs = match value(WINDOW_KEY)? {
            None => DEFAULT_WINDOW_SECS,
            Some(text) => parse_within(
                WINDOW_KEY,
                &text,
                1,
                MAX_WINDOW_SECS,
                "a whole number of seconds from 1 to 604800",
            )?,
        };
        let client_header = match value(CLIENT_HEADER_KEY)? {
            None => DEFAULT_CLIENT_HEADER.to_owned(),
            Some(text) if is_header_name(text.trim()) => text.trim().to_ascii_lowercase(),
            Some(text) => {
                return Err(SettingsError::Invalid {
                    key: CLIENT_HEADER_KEY,
                    value: text,
                    expected: "an HTTP header name",
                });
            }
        };
        let on_error = match value(ON_ERROR_KEY)?.as_deref().map(str::trim) {
            None | Some("open") => OnError::Open,
            Some("closed") => OnError::Closed,
            Some(other) => {
                return Err(SettingsError::Invalid {
                    key: ON_ERROR_KEY,
                    value: other.to_owned(),
                    expected: "`open` or `closed`",
                });
            }
        };
        Ok(Self {
            requests,
            window_secs,
            client_header,
            on_error,
        })
    }
}

fn parse_within(
    key: &'static str,
    text: &str,
    min: u64,
    max: u64,
    expected: &'static str,
) -> Result<u64, SettingsError> {
    text.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| SettingsError::Invalid {
            key,
            value: text.to_owned(),
            expected,
        })
}

/// An HTTP token (RFC 9110), as header names must be.
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
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
    fn defaults_apply_when_nothing_is_set() {
        assert_eq!(
            read(&[]),
            Ok(Settings {
                requests: 10,
                window_secs: 60,
                client_header: "x-client-ip".into(),
                on_error: OnError::Open,
            })
        );
    }

    #[test]
    fn values_are_read_and_trimmed() {
        let settings = read(&[
            (REQUESTS_KEY, " 3 "),
            (WINDOW_KEY, "1"),
            (CLIENT_HEADER_KEY, "CF-Connecting-IP"),
            (ON_ERROR_KEY, "closed"),
        ])
        .expect("valid");
        assert_eq!(settings.requests, 3);
        assert_eq!(settings.window_secs, 1);
        assert_eq!(settings.client_header, "cf-connecting-ip");
        assert_eq!(settings.on_error, OnError::Closed);
    }

    #[test]
    fn bad_values_name_their_key() {
        for (key, value) in [
            (REQUESTS_KEY, "0"),
            (REQUESTS_KEY, "ten"),
            (WINDOW_KEY, "0"),
            (WINDOW_KEY, "604801"),
            (CLIENT_HEADER_KEY, "x client"),
            (CLIENT_HEADER_KEY, ""),
            (ON_ERROR_KEY, "maybe"),
        ] {
            let error = read(&[(key, value)]).expect_err(value).to_string();
            assert!(error.contains(key), "{error}");
        }
    }

    #[test]
    fn a_failing_store_is_an_error_naming_the_key() {
        let error = Settings::read(|_| Err("store down".into())).expect_err("fails");
        assert_eq!(
            error.to_string(),
            "cannot read config key `rate-limit-requests`: store down"
        );
    }
}
