//! HTTP-level errors: every error answer's status, code and JSON body.

use serde_json::{Map, Value, json};
use thiserror::Error;

use crate::bindings::edgeplug::worker::types::{Error as WitError, UpstreamError};

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
    /// A write route is closed because the operator configured neither
    /// `upload-token` nor the route's opt-in: 403 `writes_not_configured`.
    /// The message names both settings.
    #[error(
        "{what} are closed on this server: it has neither `upload-token` (then send \
         `Authorization: Bearer <token>`) nor `{opt_in} = true` configured"
    )]
    WritesNotConfigured {
        /// What is closed, for the message (`uploads and presigning`).
        what: &'static str,
        /// The config key that opens these writes to anyone.
        opt_in: &'static str,
    },
    /// The object exists and the store refuses to overwrite it (the
    /// uploader's `s3-refuse-overwrite`): 409 `object_exists`.
    #[error("{0}")]
    ObjectExists(String),
    /// Adding to the counter would pass the largest value its store holds:
    /// 409 `counter_at_maximum`, with the counter's `"value"`.
    #[error(
        "counter {name} holds {value}; adding {by} would pass the largest value its store \
         can hold"
    )]
    CounterAtMaximum {
        /// The counter name.
        name: String,
        /// Its current, unchanged value.
        value: u64,
        /// The refused increment.
        by: u64,
    },
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
    /// The storage backend refused: 502 `upstream`. Only the backend's
    /// status and code reach the client: its message can name accounts and
    /// principals, so [`From<WitError>`] writes it to the host log instead.
    #[error("the storage backend refused the request: {}", status_and_code(*status, code))]
    Upstream {
        /// The backend's HTTP status.
        status: u16,
        /// The backend's error code (may be empty).
        code: String,
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
            Self::WritesNotConfigured { .. } => 403,
            Self::NotFound(_) => 404,
            Self::MethodNotAllowed { .. } => 405,
            Self::ObjectExists(_) | Self::CounterAtMaximum { .. } => 409,
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
            // The codes below are spelled as the shared config documents them.
            Self::WritesNotConfigured { .. } => "writes_not_configured",
            Self::ObjectExists(_) => "object_exists",
            Self::CounterAtMaximum { .. } => "counter_at_maximum",
            Self::TooLarge { .. } => "too_large",
            Self::Unavailable(_) => "unavailable",
            Self::Upstream { .. } => "upstream",
            Self::Internal(_) => "internal",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
        }
    }

    /// The JSON body: `{"error":{"code":..,"message":..}}`, plus `"limit"`
    /// for `too_large`, `"upstream":{"status","code"}` for `upstream`,
    /// `"setting"` (the opt-in key) for `writes_not_configured` and
    /// `"value"` for `counter_at_maximum`.
    pub fn to_json(&self) -> Value {
        let mut error = Map::new();
        error.insert("code".into(), json!(self.code()));
        error.insert("message".into(), json!(self.to_string()));
        match self {
            Self::TooLarge { limit, .. } => {
                error.insert("limit".into(), json!(limit));
            }
            Self::Upstream { status, code } => {
                error.insert("upstream".into(), json!({ "status": status, "code": code }));
            }
            Self::WritesNotConfigured { opt_in, .. } => {
                error.insert("setting".into(), json!(opt_in));
            }
            Self::CounterAtMaximum { value, .. } => {
                error.insert("value".into(), json!(value));
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
            WitError::Upstream(up) => {
                log_upstream(&up);
                Self::Upstream {
                    status: up.status,
                    code: up.code,
                }
            }
            WitError::Internal(m) => Self::Internal(m),
        }
    }
}

/// `403 AccessDenied`, or `500` when the backend sent no code.
fn status_and_code(status: u16, code: &str) -> String {
    if code.is_empty() {
        status.to_string()
    } else {
        format!("{status} {code}")
    }
}

/// Writes an upstream refusal to stderr, the host's log: the message is for
/// the operator, never for the client. Escaped, so that a message with line
/// breaks cannot forge log lines.
pub fn log_upstream(up: &UpstreamError) {
    eprintln!("{}", upstream_log_line(up));
}

/// The log line for an upstream refusal.
fn upstream_log_line(up: &UpstreamError) -> String {
    format!(
        "entry: the storage backend answered {} {}: {}",
        up.status,
        up.code.escape_debug(),
        up.message.escape_debug()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
                },
                502,
                "upstream",
            ),
            (
                HttpError::WritesNotConfigured {
                    what: "uploads",
                    opt_in: "allow-anonymous-uploads",
                },
                403,
                "writes_not_configured",
            ),
            (HttpError::ObjectExists("x".into()), 409, "object_exists"),
            (
                HttpError::CounterAtMaximum {
                    name: "a".into(),
                    value: 1,
                    by: 1,
                },
                409,
                "counter_at_maximum",
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
    fn upstream_carries_backend_status_and_code_but_never_its_message() {
        let message = "User: arn:aws:iam::123456789012:user/uploader is not authorized";
        let err: HttpError = WitError::Upstream(UpstreamError {
            status: 403,
            code: "AccessDenied".into(),
            message: message.into(),
        })
        .into();
        assert_eq!(err.status(), 502);
        assert_eq!(
            err.to_json(),
            json!({"error": {
                "code": "upstream",
                "message": "the storage backend refused the request: 403 AccessDenied",
                "upstream": {"status": 403, "code": "AccessDenied"}
            }})
        );
        assert!(!err.to_json().to_string().contains("arn:aws"));
    }

    #[test]
    fn the_upstream_message_goes_to_the_log_escaped() {
        let line = upstream_log_line(&UpstreamError {
            status: 500,
            code: "InternalError".into(),
            message: "bad\nentry: forged line".into(),
        });
        assert_eq!(
            line,
            "entry: the storage backend answered 500 InternalError: bad\\nentry: forged line"
        );
        assert!(!line.contains('\n'));
    }

    #[test]
    fn upstream_without_code_still_reads() {
        let err: HttpError = WitError::Upstream(UpstreamError {
            status: 500,
            code: String::new(),
            message: String::new(),
        })
        .into();
        assert_eq!(
            err.to_string(),
            "the storage backend refused the request: 500"
        );
        assert_eq!(err.to_json()["error"]["upstream"]["code"], "");
    }

    #[test]
    fn writes_not_configured_names_both_settings() {
        let err = HttpError::WritesNotConfigured {
            what: "counter writes",
            opt_in: "allow-anonymous-counter-writes",
        };
        let message = err.to_string();
        assert!(message.contains("`upload-token`"), "{message}");
        assert!(
            message.contains("`allow-anonymous-counter-writes = true`"),
            "{message}"
        );
        assert_eq!(
            err.to_json()["error"]["setting"],
            "allow-anonymous-counter-writes"
        );
    }

    #[test]
    fn counter_at_maximum_carries_the_value() {
        let err = HttpError::CounterAtMaximum {
            name: "hits".into(),
            value: 9_223_372_036_854_775_807,
            by: 1,
        };
        assert_eq!(
            err.to_json()["error"]["value"],
            9_223_372_036_854_775_807_u64
        );
        assert!(err.to_string().contains("hits"));
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
