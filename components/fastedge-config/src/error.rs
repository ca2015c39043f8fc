//! The adapter's error: `wasi:config/store.error`, mirrored so that the logic
//! and its tests need no bindings. Messages name keys, never values.

use thiserror::Error;

/// Why reading a config value failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// FastEdge's secret store refused or failed (`upstream`).
    #[error("{0}")]
    Upstream(String),
}

/// Why `gcore:fastedge/secret.get` failed, mirrored from its `error`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SecretError {
    /// The app may not read this secret.
    #[error("access denied")]
    AccessDenied,
    /// The secret could not be decrypted.
    #[error("cannot be decrypted")]
    DecryptError,
    /// Anything else, as the host described it.
    #[error("{0}")]
    Other(String),
}
