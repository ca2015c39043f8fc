//! Every way a request can fail, with its HTTP status and JSON body
//! (`{"error": {"code", "message", ...}}`, as edgeplug's entry answers).

use serde_json::{Map, Value, json};

use crate::platform::EdgeplugError;

/// A failed request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// No route at this path: 404.
    #[error("no route for {0}")]
    NotFound(String),
    /// The route exists, not for this method: 405.
    #[error("method not allowed; use {}", allow.join(" or "))]
    MethodNotAllowed {
        /// The methods the route takes.
        allow: Vec<&'static str>,
    },
    /// The request is malformed: 400.
    #[error("{0}")]
    BadRequest(String),
    /// No token, or the wrong one: 401 with `www-authenticate: Bearer`.
    #[error("an upload policy needs `Authorization: Bearer <token>`")]
    Unauthorized,
    /// Uploads are closed: no token and no opt-in configured: 403.
    #[error(
        "uploads are closed: set the secret `UPLOAD_TOKEN`, or the environment variable `ALLOW_ANONYMOUS_UPLOADS=true` to let anyone upload"
    )]
    WritesNotConfigured,
    /// A content type a browser would run if the bucket served it back: 415.
    #[error("files of type `{0}` are not accepted")]
    ContentTypeNotAllowed(String),
    /// The stated size is over the limit: 413.
    #[error("the file is larger than {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// A setting is wrong: 500.
    #[error("the app is misconfigured: {0}")]
    Misconfigured(String),
    /// An edgeplug component failed.
    #[error("{}", edgeplug_message(.0))]
    Edgeplug(EdgeplugError),
}

fn edgeplug_message(error: &EdgeplugError) -> String {
    match error {
        EdgeplugError::InvalidInput(message) => message.clone(),
        EdgeplugError::Unauthorized(_) => "the storage refused the app's credentials".to_owned(),
        EdgeplugError::TooLarge(limit) => format!("over the limit of {limit} bytes"),
        EdgeplugError::Unavailable(_) => "the storage is unavailable; try again".to_owned(),
        EdgeplugError::Upstream { status, code } => {
            format!("the storage answered {status} {code}")
        }
        EdgeplugError::Internal(_) => "internal error".to_owned(),
    }
}

impl AppError {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Self::NotFound(_) => 404,
            Self::MethodNotAllowed { .. } => 405,
            Self::BadRequest(_) => 400,
            Self::Unauthorized => 401,
            Self::WritesNotConfigured => 403,
            Self::ContentTypeNotAllowed(_) => 415,
            Self::TooLarge { .. } => 413,
            Self::Misconfigured(_) => 500,
            Self::Edgeplug(error) => match error {
                EdgeplugError::InvalidInput(_) => 400,
                EdgeplugError::Unauthorized(_) => 500,
                EdgeplugError::TooLarge(_) => 413,
                EdgeplugError::Unavailable(_) => 503,
                EdgeplugError::Upstream { .. } => 502,
                EdgeplugError::Internal(_) => 500,
            },
        }
    }

    /// The machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::WritesNotConfigured => "writes_not_configured",
            Self::ContentTypeNotAllowed(_) => "content_type_not_allowed",
            Self::TooLarge { .. } => "too_large",
            Self::Misconfigured(_) => "misconfigured",
            Self::Edgeplug(error) => match error {
                EdgeplugError::InvalidInput(_) => "invalid_input",
                EdgeplugError::TooLarge(_) => "too_large",
                EdgeplugError::Unavailable(_) => "unavailable",
                EdgeplugError::Upstream { .. } => "upstream",
                EdgeplugError::Unauthorized(_) | EdgeplugError::Internal(_) => "internal",
            },
        }
    }

    /// The JSON body.
    pub fn to_json(&self) -> Value {
        let mut error = Map::new();
        error.insert("code".into(), json!(self.code()));
        error.insert("message".into(), json!(self.to_string()));
        match self {
            Self::TooLarge { limit } | Self::Edgeplug(EdgeplugError::TooLarge(limit)) => {
                error.insert("limit".into(), json!(limit));
            }
            Self::Edgeplug(EdgeplugError::Upstream { status, code }) => {
                error.insert("upstream".into(), json!({ "status": status, "code": code }));
            }
            _ => {}
        }
        json!({ "error": error })
    }

    /// What the log gets: the client's message, plus a component's own
    /// detail, which may name infrastructure and so never reaches a client.
    pub fn log_line(&self) -> String {
        match self {
            Self::Edgeplug(
                EdgeplugError::Unauthorized(detail)
                | EdgeplugError::Unavailable(detail)
                | EdgeplugError::Internal(detail),
            ) => format!("{} ({detail})", self.code()),
            _ => format!("{}: {self}", self.code()),
        }
    }
}

impl From<EdgeplugError> for AppError {
    fn from(error: EdgeplugError) -> Self {
        Self::Edgeplug(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_component_detail_stays_out_of_the_answer() {
        let error = AppError::from(EdgeplugError::Internal(
            "s3-secret-access-key missing".into(),
        ));
        assert_eq!(error.status(), 500);
        assert!(!error.to_json().to_string().contains("s3-secret"));
        assert!(error.log_line().contains("s3-secret-access-key missing"));
    }

    #[test]
    fn an_upstream_refusal_names_status_and_code() {
        let error = AppError::from(EdgeplugError::Upstream {
            status: 403,
            code: "AccessDenied".into(),
        });
        assert_eq!(error.status(), 502);
        assert_eq!(
            error.to_json()["error"]["upstream"],
            json!({"status": 403, "code": "AccessDenied"})
        );
    }
}
