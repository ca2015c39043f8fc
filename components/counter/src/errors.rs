//! The component's errors and their mapping onto `edgeplug:worker/types.error`.

use thiserror::Error;

use crate::bindings::exports::edgeplug::worker::types::Error as WitError;
use crate::name::NameError;
use crate::value::ValueError;

/// A `wasi:config/store` read failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("reading config key `{key}` failed: {message}")]
pub struct ConfigError {
    /// The key being read.
    pub key: String,
    /// What the config store said.
    pub message: String,
}

/// A `wasi:keyvalue` error, mirrored so that logic and tests need no bindings.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KvError {
    /// The host has no store by that identifier.
    #[error("no such store")]
    NoSuchStore,
    /// The host refused access to the store.
    #[error("access denied")]
    AccessDenied,
    /// Any other failure, as the host described it.
    #[error("{0}")]
    Other(String),
}

/// Every way a counter operation can fail.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CounterError {
    /// The counter name is not acceptable.
    #[error(transparent)]
    InvalidName(#[from] NameError),
    /// The configuration could not be read.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The key-value store failed.
    #[error("key-value bucket `{bucket}`: {source}")]
    Kv {
        /// The bucket in use, named in messages to help fix a misconfiguration.
        bucket: String,
        /// What the store said.
        source: KvError,
    },
    /// Adding `delta` would take the counter past the largest value the
    /// store can hold; the stored value is unchanged.
    #[error(
        "counter {name} holds {value}; adding {delta} would pass the largest value \
         the key-value store can hold"
    )]
    AtMaximum {
        /// The counter name (already validated, so safe to echo).
        name: String,
        /// The counter's value, unchanged.
        value: u64,
        /// The refused delta.
        delta: u64,
    },
    /// The stored value is not a counter value.
    #[error("counter {name} holds a value that is {}", describe_value(source))]
    BadValue {
        /// The counter name (already validated, so safe to echo).
        name: String,
        /// What is wrong with the value.
        source: ValueError,
    },
}

/// The phrase used for a bad stored value: "not a decimal number" is the
/// wording the contract's callers see for garbage.
fn describe_value(err: &ValueError) -> &'static str {
    match err {
        ValueError::NotDecimal => "not a decimal number",
        ValueError::Overflow => "too large for a 64-bit counter",
    }
}

impl From<CounterError> for WitError {
    fn from(err: CounterError) -> Self {
        let message = err.to_string();
        match err {
            CounterError::InvalidName(_) => WitError::InvalidInput(message),
            // The config store failing is transient from the caller's view.
            CounterError::Config(_) => WitError::Unavailable(message),
            CounterError::Kv { bucket, source } => match source {
                KvError::NoSuchStore => WitError::Internal(format!(
                    "key-value bucket `{bucket}` does not exist (check the `kv-bucket` setting)"
                )),
                KvError::AccessDenied => {
                    WitError::Unauthorized(format!("access to key-value bucket `{bucket}` denied"))
                }
                KvError::Other(msg) => WitError::Unavailable(msg),
            },
            // The contract's distinct signal for a saturated counter: the
            // only `too-large` the counter returns, carrying the unchanged
            // value so a caller can show it (see the crate docs).
            CounterError::AtMaximum { value, .. } => WitError::TooLarge(value),
            CounterError::BadValue { .. } => WitError::Internal(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wit(err: CounterError) -> WitError {
        err.into()
    }

    fn kv(source: KvError) -> CounterError {
        CounterError::Kv {
            bucket: "counters".to_owned(),
            source,
        }
    }

    #[test]
    fn invalid_name_is_invalid_input() {
        match wit(NameError::Empty.into()) {
            WitError::InvalidInput(m) => assert_eq!(m, "counter name is empty"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn config_error_is_unavailable() {
        let err = ConfigError {
            key: "kv-bucket".to_owned(),
            message: "io".to_owned(),
        };
        match wit(err.into()) {
            WitError::Unavailable(m) => assert_eq!(m, "reading config key `kv-bucket` failed: io"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn no_such_store_is_internal_and_names_the_bucket() {
        match wit(kv(KvError::NoSuchStore)) {
            WitError::Internal(m) => assert!(m.contains("`counters`"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn access_denied_is_unauthorized() {
        match wit(kv(KvError::AccessDenied)) {
            WitError::Unauthorized(m) => assert!(m.contains("`counters`"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn other_is_unavailable_with_the_hosts_message() {
        match wit(kv(KvError::Other("timeout".to_owned()))) {
            WitError::Unavailable(m) => assert_eq!(m, "timeout"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn at_maximum_is_too_large_carrying_the_value() {
        let err = CounterError::AtMaximum {
            name: "hits".into(),
            value: 9,
            delta: 2,
        };
        assert_eq!(
            err.to_string(),
            "counter hits holds 9; adding 2 would pass the largest value the key-value store can hold"
        );
        match wit(err) {
            WitError::TooLarge(value) => assert_eq!(value, 9),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_values_are_internal() {
        let err = CounterError::BadValue {
            name: "hits".to_owned(),
            source: ValueError::NotDecimal,
        };
        match wit(err) {
            WitError::Internal(m) => {
                assert_eq!(m, "counter hits holds a value that is not a decimal number")
            }
            other => panic!("{other:?}"),
        }
        let err = CounterError::BadValue {
            name: "hits".to_owned(),
            source: ValueError::Overflow,
        };
        match wit(err) {
            WitError::Internal(m) => {
                assert_eq!(
                    m,
                    "counter hits holds a value that is too large for a 64-bit counter"
                )
            }
            other => panic!("{other:?}"),
        }
    }
}
