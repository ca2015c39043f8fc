//! The one network call the adapter makes, as a trait: an HTTP `POST` to
//! the REST endpoint. The component implements it over `wasi:http` (the
//! glue's `http` module); tests implement it with scripted fakes.

use std::fmt;

use thiserror::Error;

use crate::config::Scheme;

/// The most bytes of an answer read. A larger answer fails as
/// [`TransportError::TooLarge`]: a value cut short would be a wrong value.
pub const MAX_ANSWER_BYTES: usize = 16 << 20;

/// One `POST` to the REST endpoint.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `http` or `https`.
    pub scheme: Scheme,
    /// `host[:port]`.
    pub authority: String,
    /// The path (with the endpoint's path prefix), already percent-encoded.
    pub path: String,
    /// Header names and values, `Authorization` included.
    pub headers: Vec<(&'static str, String)>,
    /// The request body.
    pub body: Vec<u8>,
    /// The connect, first-byte and between-bytes timeouts, in milliseconds.
    pub timeout_ms: u64,
}

impl HttpRequest {
    /// The value of the header `name` (case-insensitive), if set.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

// By hand: the derived form would print the bearer token.
impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(name, value)| {
                if name.eq_ignore_ascii_case("authorization") {
                    (*name, "[redacted]")
                } else {
                    (*name, value.as_str())
                }
            })
            .collect();
        f.debug_struct("HttpRequest")
            .field("scheme", &self.scheme)
            .field("authority", &self.authority)
            .field("path", &self.path)
            .field("headers", &headers)
            .field("body_len", &self.body.len())
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

/// The endpoint's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The HTTP status.
    pub status: u16,
    /// The whole body (at most [`MAX_ANSWER_BYTES`]).
    pub body: Vec<u8>,
}

/// Why no usable answer came back.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TransportError {
    /// The request could not be sent, or its answer was lost (refused
    /// connection, timeout, broken connection).
    #[error("{detail}")]
    Failed {
        /// What went wrong, without a host's internal details.
        detail: String,
        /// Whether the endpoint may have received (and carried out) the
        /// request: `false` only when it certainly did not (the name did
        /// not resolve, the connection was refused, the request was never
        /// handed over).
        may_have_reached: bool,
    },
    /// The answer is larger than [`MAX_ANSWER_BYTES`].
    #[error("the answer is larger than {limit} bytes")]
    TooLarge {
        /// The limit that was passed.
        limit: usize,
    },
}

/// The network side of the adapter.
pub trait Transport {
    /// Sends `request` and reads the whole answer.
    fn post(&mut self, request: &HttpRequest) -> Result<HttpResponse, TransportError>;

    /// Waits `ms` milliseconds before a retry.
    fn sleep_ms(&mut self, ms: u64);
}

/// Appends `chunk` to `body`, failing instead once `body` would exceed
/// `limit` bytes (never truncating).
pub fn append_capped(body: &mut Vec<u8>, chunk: &[u8], limit: usize) -> Result<(), TransportError> {
    if body.len().saturating_add(chunk.len()) > limit {
        return Err(TransportError::TooLarge { limit });
    }
    body.extend_from_slice(chunk);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_capped_not_truncated() {
        let mut body = Vec::new();
        append_capped(&mut body, b"abc", 4).unwrap();
        append_capped(&mut body, b"d", 4).unwrap();
        assert_eq!(
            append_capped(&mut body, b"e", 4),
            Err(TransportError::TooLarge { limit: 4 })
        );
        assert_eq!(body, b"abcd");
    }

    #[test]
    fn debug_hides_the_authorization_header() {
        let request = HttpRequest {
            scheme: Scheme::Https,
            authority: "h".into(),
            path: "/".into(),
            headers: vec![
                ("Authorization", "Bearer tok-secret".into()),
                ("Upstash-Encoding", "base64".into()),
            ],
            body: b"[]".to_vec(),
            timeout_ms: 1,
        };
        let debug = format!("{request:?}");
        assert!(!debug.contains("tok-secret"), "{debug}");
        assert!(debug.contains("Upstash-Encoding"), "{debug}");
        assert_eq!(request.header("authorization"), Some("Bearer tok-secret"));
    }
}
