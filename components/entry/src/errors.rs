//! HTTP-level errors: every error answer's status, code and JSON body.

use serde_json::{Map, Value, json};
use thiserror::Error;

use crate::bindings::edgeplug::worker::types::Error as WitError;

/// An error answer. `Display` is the human-readable `message`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HttpError {
    /// The request is malformed: 400 `invalid_input`.
    #[error("{0}")]
    InvalidInput(String),
    /// The caller may not do this: 401 `unauthorized`.
    #[error("{0}")]
    Unauthorized(String),
    /// The route needs the upload token, and the request did not carry it:
    /// 401 `unauthorized`, with `www-authenticate: Bearer`.
    #[error("{0}")]
    AuthRequired(String),
    /// The body is larger than `limit` bytes: 413 `too_large`.
    #[error("{message}")]
    TooLarge {
        /// The limit, in bytes; also sent as `"limit"` in the JSON.
        limit: u64,
        /// What exceeded it.
        message: String,
    },
    /// A backend is failing; retrying may work: 503 `unavailable`.
    #[error("{0}")]
    Unavailable(String),
    /// The storage backend refused: 502 `upstream`.
    #[error("{message}")]
    Upstream {
        /// The backend's HTTP status.
        status: u16,
        /// The backend's error code (may be empty).
        code: String,
        /// The backend's message.
        message: String,
    },
    /// A bug or misconfiguration on our side: 500 `internal`.
    #[error("{0}")]
    Internal(String),
    /// No route matches the path: 404 `not_found`.
    #[error("{0}")]
    NotFound(String),
    /// The path exists, but not with this method: 405 `method_not_allowed`.
    #[error("method {method} is not allowed here; allowed: {}", allow.join(", "))]
    MethodNotAllowed {
        /// The method the request used.
        method: String,
        /// The methods this path accepts, for the `allow` header.
        allow: &'static [&'static str],
    },
}

impl HttpError {
    /// The HTTP status code of this answer.
    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidInput(_) => 400,
            Self::Unauthorized(_) | Self::AuthRequired(_) => 401,
            Self::NotFound(_) => 404,
            Self::MethodNotAllowed { .. } => 405,
            Self::TooLarge { .. } => 413,
            Self::Internal(_) => 500,
            Self::Upstream { .. } => 502,
            Self::Unavailable(_) => 503,
        }
    }

    /// The machine-readable `code` in the JSON body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidInput(_) => "invalid_input",
            Self::Unauthorized(_) | Self::AuthRequired(_) => "unauthorized",
            Self::TooLarge { .. } => "too_large",
            Self::Unavailable(_) => "unavailable",
            Self::Upstream { .. } => "upstream",
            Self::Internal(_) => "internal",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
        }
    }

    /// The JSON body: `{"error":{"code":..,"message":..}}`, plus `"limit"`
    /// for `too_large` and `"upstream":{"status","code"}` for `upstream`.
    pub fn to_json(&self) -> Value {
        let mut error = Map::new();
        error.insert("code".into(), json!(self.code()));
        error.insert("message".into(), json!(self.to_string()));
        match self {
            Self::TooLarge { limit, .. } => {
                error.insert("limit".into(), json!(limit));
            }
            Self::Upstream { status, code, .. } => {
                error.insert("upstream".into(), json!({ "status": status, "code": code }));
            }
            _ => {}
        }
        json!({ "error": error })
    }
}

impl From<WitError> for HttpError {
    fn from(err: WitError) -> Self {
        match err {
            WitError::InvalidInput(m) => Self::InvalidInput(m),
            WitError::Unauthorized(m) => Self::Unauthorized(m),
            WitError::TooLarge(limit) => Self::TooLarge {
                limit,
                message: format!("the body is larger than the limit of {limit} bytes"),
            },
            WitError::Unavailable(m) => Self::Unavailable(m),
            WitError::Upstream(up) => Self::Upstream {
                // An empty message would leave the caller with nothing to read.
                message: if up.message.is_empty() {
                    format!("the storage backend answered {}", up.status)
                } else {
                    up.message
                },
                status: up.status,
                code: up.code,
            },
            WitError::Internal(m) => Self::Internal(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::edgeplug::worker::types::UpstreamError;

    #[test]
    fn statuses_and_codes() {
        let cases = [
            (HttpError::InvalidInput("x".into()), 400, "invalid_input"),
            (HttpError::Unauthorized("x".into()), 401, "unauthorized"),
            (HttpError::NotFound("x".into()), 404, "not_found"),
            (
                HttpError::MethodNotAllowed {
                    method: "DELETE".into(),
                    allow: &["GET"],
                },
                405,
                "method_not_allowed",
            ),
            (HttpError::AuthRequired("x".into()), 401, "unauthorized"),
            (
                HttpError::TooLarge {
                    limit: 1,
                    message: "x".into(),
                },
                413,
                "too_large",
            ),
            (HttpError::Internal("x".into()), 500, "internal"),
            (
                HttpError::Upstream {
                    status: 403,
                    code: "AccessDenied".into(),
                    message: "x".into(),
                },
                502,
                "upstream",
            ),
            (HttpError::Unavailable("x".into()), 503, "unavailable"),
        ];
        for (err, status, code) in cases {
            assert_eq!(err.status(), status, "{err:?}");
            assert_eq!(err.code(), code, "{err:?}");
            assert_eq!(err.to_json()["error"]["code"], code);
        }
    }

    #[test]
    fn plain_json_shape() {
        let err = HttpError::InvalidInput("bad \"name\"\n".into());
        assert_eq!(
            err.to_json(),
            json!({"error": {"code": "invalid_input", "message": "bad \"name\"\n"}})
        );
    }

    #[test]
    fn too_large_carries_the_limit() {
        let err: HttpError = WitError::TooLarge(10).into();
        assert_eq!(
            err.to_json(),
            json!({"error": {
                "code": "too_large",
                "message": "the body is larger than the limit of 10 bytes",
                "limit": 10
            }})
        );
    }

    #[test]
    fn upstream_carries_backend_status_and_code() {
        let err: HttpError = WitError::Upstream(UpstreamError {
            status: 403,
            code: "SignatureDoesNotMatch".into(),
            message: "signature mismatch".into(),
        })
        .into();
        assert_eq!(err.status(), 502);
        assert_eq!(
            err.to_json(),
            json!({"error": {
                "code": "upstream",
                "message": "signature mismatch",
                "upstream": {"status": 403, "code": "SignatureDoesNotMatch"}
            }})
        );
    }

    #[test]
    fn upstream_without_message_gets_one() {
        let err: HttpError = WitError::Upstream(UpstreamError {
            status: 500,
            code: String::new(),
            message: String::new(),
        })
        .into();
        assert_eq!(err.to_string(), "the storage backend answered 500");
        assert_eq!(err.to_json()["error"]["upstream"]["code"], "");
    }

    #[test]
    fn wit_errors_map_to_statuses() {
        let s = |e: WitError| HttpError::from(e).status();
        assert_eq!(s(WitError::InvalidInput("x".into())), 400);
        assert_eq!(s(WitError::Unauthorized("x".into())), 401);
        assert_eq!(s(WitError::TooLarge(1)), 413);
        assert_eq!(s(WitError::Unavailable("x".into())), 503);
        assert_eq!(s(WitError::Internal("x".into())), 500);
    }

    #[test]
    fn method_not_allowed_message() {
        let err = HttpError::MethodNotAllowed {
            method: "PATCH".into(),
            allow: &["GET", "POST"],
        };
        assert_eq!(
            err.to_string(),
            "method PATCH is not allowed here; allowed: GET, POST"
        );
    }
}
