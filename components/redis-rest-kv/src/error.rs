//! The adapter's error: `wasi:keyvalue/store.error`, mirrored so that the
//! logic and its tests need no bindings.

use thiserror::Error;

/// Why a key-value operation failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KvError {
    /// The bucket identifier names no store (`wasi:keyvalue` `no-such-store`):
    /// it is empty or contains the bucket/key separator.
    #[error("no such store")]
    NoSuchStore,
    /// Anything else, described for the caller (`other`).
    #[error("{0}")]
    Other(String),
}

/// An `other` error with `message`.
pub fn other(message: impl Into<String>) -> KvError {
    KvError::Other(message.into())
}

impl KvError {
    /// The same error with every occurrence of `secret` in its message
    /// replaced: a last line of defence, so that a server or host that
    /// echoes the token (in an error body, say) cannot leak it through the
    /// caller's error. An empty secret replaces nothing.
    pub fn scrub(self, secret: &str) -> Self {
        match self {
            KvError::Other(message) if !secret.is_empty() && message.contains(secret) => {
                KvError::Other(message.replace(secret, "[redacted]"))
            }
            error => error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubbing_hides_the_secret_and_keeps_the_rest() {
        assert_eq!(
            other("redis REST: bad token tok-123 given").scrub("tok-123"),
            other("redis REST: bad token [redacted] given")
        );
        assert_eq!(other("fine").scrub("tok-123"), other("fine"));
        assert_eq!(other("fine").scrub(""), other("fine"));
        assert_eq!(KvError::NoSuchStore.scrub("x"), KvError::NoSuchStore);
    }
}
