//! The component's own answers when there is no forecast to give: JSON
//! errors, `{"error":{"code":..,"message":..}}`.

use serde_json::json;
use thiserror::Error;

use crate::city::CityError;
use crate::reply::Reply;
use crate::settings::SettingsError;

/// Why a request got no forecast.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ApiError {
    /// The city breaks the naming rules: 400 `invalid_input`.
    #[error("invalid city: {0}")]
    InvalidCity(#[from] CityError),
    /// No such route: 404 `not_found`.
    #[error("no route for {0}: try GET /weather/{{city}}")]
    NotFound(String),
    /// Another method than GET on the route: 405 `method_not_allowed`.
    #[error("method {0} is not allowed: only GET")]
    MethodNotAllowed(String),
    /// Missing or unusable config: 500 `internal`, naming the key.
    #[error(transparent)]
    Config(#[from] SettingsError),
    /// The weather API failed: 502 `bad_gateway`.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
}

/// How the weather API failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UpstreamError {
    /// It answered, but not with a 2xx.
    #[error("the weather API answered {0}")]
    Status(u16),
    /// No answer at all: refused, timed out, name not found, ...
    #[error("the weather API is unreachable: {0}")]
    Unreachable(String),
    /// An answer too big to cache or pass on.
    #[error("the weather API's answer is over {0} bytes")]
    TooLarge(usize),
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidCity(_) => 400,
            Self::NotFound(_) => 404,
            Self::MethodNotAllowed(_) => 405,
            Self::Config(_) => 500,
            Self::Upstream(_) => 502,
        }
    }

    /// The machine-readable `code` in the JSON.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidCity(_) => "invalid_input",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::Config(_) => "internal",
            Self::Upstream(_) => "bad_gateway",
        }
    }

    /// The answer to send; a 405 also says which method is allowed.
    pub fn reply(&self) -> Reply {
        let body = json!({"error": {"code": self.code(), "message": self.to_string()}});
        let mut reply = Reply::new(self.status(), "application/json", body.to_string());
        if let Self::MethodNotAllowed(_) = self {
            reply = reply.header("allow", "GET");
        }
        reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn each_error_has_its_status_code_and_message() {
        for (error, status, code) in [
            (
                ApiError::InvalidCity(CityError::Empty),
                400,
                "invalid_input",
            ),
            (ApiError::NotFound("/x".into()), 404, "not_found"),
            (
                ApiError::MethodNotAllowed("PUT".into()),
                405,
                "method_not_allowed",
            ),
            (
                ApiError::Upstream(UpstreamError::Status(500)),
                502,
                "bad_gateway",
            ),
        ] {
            let reply = error.reply();
            assert_eq!(reply.status, status);
            let body: Value = serde_json::from_slice(&reply.body).expect("JSON");
            assert_eq!(body["error"]["code"], code);
            assert_eq!(body["error"]["message"], error.to_string());
        }
    }

    #[test]
    fn only_405_says_what_is_allowed() {
        let allowed = ApiError::MethodNotAllowed("PUT".into()).reply();
        assert_eq!(allowed.header_value("allow"), Some("GET"));
        assert_eq!(
            ApiError::NotFound("/".into()).reply().header_value("allow"),
            None
        );
    }
}
