//! The adapter's error: `wasi:keyvalue/store.error`, mirrored so that the
//! logic and its tests need no bindings.

use thiserror::Error;

/// Why a key-value operation failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KvError {
    /// The bucket identifier names no store (`wasi:keyvalue` `no-such-store`).
    #[error("no such store")]
    NoSuchStore,
    /// The operation is not allowed: FastEdge refused access, or the bucket
    /// is read-only (`access-denied`).
    #[error("access denied")]
    AccessDenied,
    /// Anything else, described for the caller (`other`).
    #[error("{0}")]
    Other(String),
}
