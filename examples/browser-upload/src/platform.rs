//! What the app needs from FastEdge and from edgeplug's components, as a
//! trait: the wasm glue (`server.rs`) implements it over the imports, and
//! the unit tests over plain Rust fakes.

use serde::Serialize;

/// An `edgeplug:worker/types.error`, as plain Rust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EdgeplugError {
    /// The input was refused (a bad key or content type): 400.
    InvalidInput(String),
    /// The component refused the caller.
    Unauthorized(String),
    /// Over a limit, in bytes.
    TooLarge(u64),
    /// A backend is failing or unreachable: 503.
    Unavailable(String),
    /// The storage backend refused, with its status and code. Its message
    /// stays in the log: it may name accounts.
    Upstream {
        /// The backend's HTTP status.
        status: u16,
        /// The backend's error code.
        code: String,
    },
    /// A bug or a misconfiguration: 500.
    Internal(String),
}

/// What a POST policy should allow: one object, one type, a length range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRequest {
    /// The object key, exactly.
    pub key: String,
    /// The `Content-Type` the upload must have.
    pub content_type: String,
    /// The largest file the store accepts.
    pub max_length: u64,
    /// How long the policy works, in seconds.
    pub expires_in_secs: u32,
}

/// A presigned POST policy, as the uploader returned it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PresignedPost {
    /// Where the browser POSTs the form.
    pub url: String,
    /// The form fields, in order, before the file.
    pub fields: Vec<(String, String)>,
    /// When the policy stops working, in seconds since the Unix epoch.
    pub expires_at: u64,
}

/// Everything the app asks of its host.
pub trait Platform {
    /// The environment variable `name` (FastEdge's `dictionary`).
    fn env(&self, name: &str) -> Option<String>;
    /// The secret `name` (FastEdge's `secret`); an error is a secret the app
    /// may not read or that cannot be decrypted.
    fn secret(&self, name: &str) -> Result<Option<String>, String>;
    /// Adds 1 to the counter `name` and returns the new value.
    fn increment(&self, name: &str) -> Result<u64, EdgeplugError>;
    /// The counter `name`'s value.
    fn count(&self, name: &str) -> Result<u64, EdgeplugError>;
    /// Presigns a POST policy.
    fn presign_post(&self, request: &PolicyRequest) -> Result<PresignedPost, EdgeplugError>;
    /// 16 random bytes, for object keys nobody can guess.
    fn random_bytes(&self) -> [u8; 16];
    /// Writes one line to the app's log (FastEdge keeps stdout only).
    fn log(&self, line: &str);
}
