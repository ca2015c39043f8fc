//! The uploader's error type: one case per WIT `types.error` case, so that
//! the glue in `lib.rs` maps it one to one.

/// Every way an upload or a presign can fail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The caller's input is wrong (bad key, missing length, short body).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The body is larger than the store accepts in one request.
    #[error("payload too large: the limit is {0} bytes")]
    TooLarge(u64),
    /// The store or the configuration backend could not be reached.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The store answered with an error.
    #[error("storage answered {status} {code}: {message}")]
    Upstream {
        /// HTTP status of the store's answer.
        status: u16,
        /// S3 error code, empty when the store sent none.
        code: String,
        /// S3 error message, scrubbed of secrets.
        message: String,
    },
    /// A misconfiguration or a bug on the server side.
    #[error("internal error: {0}")]
    Internal(String),
}

/// What replaces a secret found in a message.
pub const REDACTED: &str = "[redacted]";

impl Error {
    /// Replaces every occurrence of each non-empty `secret` in the error's
    /// text with [`REDACTED`].
    ///
    /// Applied to every error that leaves the component, as a last line of
    /// defence: upstream messages and host error strings are not ours.
    #[must_use]
    pub fn scrub(self, secrets: &[&str]) -> Self {
        let clean = |text: String| scrub(&text, secrets);
        match self {
            Self::InvalidInput(m) => Self::InvalidInput(clean(m)),
            Self::TooLarge(n) => Self::TooLarge(n),
            Self::Unavailable(m) => Self::Unavailable(clean(m)),
            Self::Upstream {
                status,
                code,
                message,
            } => Self::Upstream {
                status,
                code: clean(code),
                message: clean(message),
            },
            Self::Internal(m) => Self::Internal(clean(m)),
        }
    }
}

/// Returns `text` with every occurrence of each non-empty secret replaced by
/// [`REDACTED`].
pub fn scrub(text: &str, secrets: &[&str]) -> String {
    secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(text.to_owned(), |acc, secret| acc.replace(secret, REDACTED))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_replaces_every_secret_and_skips_empty_ones() {
        let text = "key=SECRET token=TOKEN again SECRET";
        assert_eq!(
            scrub(text, &["SECRET", "", "TOKEN"]),
            "key=[redacted] token=[redacted] again [redacted]"
        );
    }

    #[test]
    fn error_scrub_covers_every_text_field() {
        let err = Error::Upstream {
            status: 403,
            code: "S3CRET".into(),
            message: "echo S3CRET".into(),
        };
        assert_eq!(
            err.scrub(&["S3CRET"]),
            Error::Upstream {
                status: 403,
                code: "[redacted]".into(),
                message: "echo [redacted]".into(),
            }
        );
        assert_eq!(
            Error::Unavailable("x S3CRET".into()).scrub(&["S3CRET"]),
            Error::Unavailable("x [redacted]".into())
        );
    }
}
