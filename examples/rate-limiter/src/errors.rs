//! The limiter's own answers: JSON errors shaped like every edgeplug error,
//! `{"error":{"code":..,"message":..}}`.

use serde_json::{Map, Value, json};
use thiserror::Error;

/// Why the limiter answered instead of the next handler.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Refusal {
    /// The client used up its window: 429 `rate_limited`, with
    /// `retry-after` and the same seconds in the JSON.
    #[error("too many requests: at most {limit} per {window_secs} s; retry in {retry_after} s")]
    RateLimited {
        /// The configured requests per window.
        limit: u64,
        /// The configured window length.
        window_secs: u64,
        /// Seconds until the next window.
        retry_after: u64,
    },
    /// The request names its client in a way that cannot be used: 400
    /// `invalid_input`.
    #[error("{0}")]
    InvalidInput(String),
    /// The counter failed and the limiter fails closed: 503 `unavailable`.
    #[error("{0}")]
    Unavailable(String),
    /// A misconfiguration: 500 `internal`.
    #[error("{0}")]
    Internal(String),
}

/// A whole answer: status, headers and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// Headers, lower-case names.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Refusal {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidInput(_) => 400,
            Self::RateLimited { .. } => 429,
            Self::Internal(_) => 500,
            Self::Unavailable(_) => 503,
        }
    }

    /// The machine-readable `code` in the JSON.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidInput(_) => "invalid_input",
            Self::RateLimited { .. } => "rate_limited",
            Self::Internal(_) => "internal",
            Self::Unavailable(_) => "unavailable",
        }
    }

    /// The JSON body; `rate_limited` also carries `retry_after` and `limit`.
    pub fn to_json(&self) -> Value {
        let mut error = Map::new();
        error.insert("code".into(), json!(self.code()));
        error.insert("message".into(), json!(self.to_string()));
        if let Self::RateLimited {
            limit, retry_after, ..
        } = self
        {
            error.insert("retry_after".into(), json!(retry_after));
            error.insert("limit".into(), json!(limit));
        }
        json!({ "error": error })
    }

    /// The answer to send.
    pub fn reply(&self) -> Reply {
        let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
        if let Self::RateLimited { retry_after, .. } = self {
            headers.push(("retry-after".to_owned(), retry_after.to_string()));
        }
        Reply {
            status: self.status(),
            headers,
            body: self.to_json().to_string().into_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limited_answers_429_with_retry_after() {
        let refusal = Refusal::RateLimited {
            limit: 10,
            window_secs: 60,
            retry_after: 42,
        };
        let reply = refusal.reply();
        assert_eq!(reply.status, 429);
        assert!(reply.headers.contains(&("retry-after".into(), "42".into())));
        let body: Value = serde_json::from_slice(&reply.body).expect("JSON");
        assert_eq!(
            body,
            json!({"error": {
                "code": "rate_limited",
                "message": "too many requests: at most 10 per 60 s; retry in 42 s",
                "retry_after": 42,
                "limit": 10
            }})
        );
    }

    #[test]
    fn other_refusals_have_the_plain_edgeplug_shape() {
        for (refusal, status, code) in [
            (Refusal::InvalidInput("x".into()), 400, "invalid_input"),
            (Refusal::Internal("x".into()), 500, "internal"),
            (Refusal::Unavailable("x".into()), 503, "unavailable"),
        ] {
            let reply = refusal.reply();
            assert_eq!(reply.status, status);
            assert!(!reply.headers.iter().any(|(name, _)| name == "retry-after"));
            let body: Value = serde_json::from_slice(&reply.body).expect("JSON");
            assert_eq!(body, json!({"error": {"code": code, "message": "x"}}));
        }
    }
}
