//! Answers as plain data, written out by the host glue.

use serde_json::Value;

use crate::errors::HttpError;

/// The largest slice handed to one `blocking-write-and-flush` (the call's
/// documented limit).
pub const MAX_CHUNK: usize = 4096;

/// A complete response: status, headers and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The HTTP status code.
    pub status: u16,
    /// Header names (lower case) and values, in order.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// A `text/plain; charset=utf-8` answer.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Self::new(
            status,
            "text/plain; charset=utf-8",
            body.into().into_bytes(),
        )
    }

    /// An `application/json` answer.
    pub fn json(status: u16, value: &Value) -> Self {
        // `Value`'s Display is its compact JSON and cannot fail.
        Self::new(status, "application/json", value.to_string().into_bytes())
    }

    /// The JSON error answer for `err`, with `allow` on a 405 and
    /// `www-authenticate: Bearer` when the upload token is missing or wrong.
    pub fn error(err: &HttpError) -> Self {
        let reply = Self::json(err.status(), &err.to_json());
        match err {
            HttpError::MethodNotAllowed { allow, .. } => {
                reply.with_header("allow", allow.join(", "))
            }
            HttpError::AuthRequired(_) => reply.with_header("www-authenticate", "Bearer"),
            _ => reply,
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// The value of the first header called `name`, for tests and logging.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    fn new(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        Self {
            status,
            headers: vec![
                ("content-type".to_owned(), content_type.as_bytes().to_vec()),
                // The length is known, so clients get a framed body, not chunks.
                (
                    "content-length".to_owned(),
                    body.len().to_string().into_bytes(),
                ),
            ],
            body,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_reply() {
        let reply = Reply::text(200, "Page views: 3");
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.header("content-type"),
            Some(&b"text/plain; charset=utf-8"[..])
        );
        assert_eq!(reply.header("content-length"), Some(&b"13"[..]));
        assert_eq!(reply.body, b"Page views: 3");
    }

    #[test]
    fn json_reply() {
        let reply = Reply::json(201, &json!({"a": 1}));
        assert_eq!(reply.header("content-type"), Some(&b"application/json"[..]));
        assert_eq!(reply.body, br#"{"a":1}"#);
    }

    #[test]
    fn error_reply() {
        let reply = Reply::error(&HttpError::NotFound("no route for /x".into()));
        assert_eq!(reply.status, 404);
        assert_eq!(reply.header("allow"), None);
        let body: Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(
            body,
            json!({"error": {"code": "not_found", "message": "no route for /x"}})
        );
    }

    #[test]
    fn auth_required_has_www_authenticate() {
        let reply = Reply::error(&HttpError::AuthRequired("needs a token".into()));
        assert_eq!(reply.status, 401);
        assert_eq!(reply.header("www-authenticate"), Some(&b"Bearer"[..]));
        let body: Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(
            body,
            json!({"error": {"code": "unauthorized", "message": "needs a token"}})
        );
        // A backend refusing the component's own credentials is not a
        // challenge to the client.
        let reply = Reply::error(&HttpError::Unauthorized("denied".into()));
        assert_eq!(reply.status, 401);
        assert_eq!(reply.header("www-authenticate"), None);
    }

    #[test]
    fn method_not_allowed_has_allow() {
        let reply = Reply::error(&HttpError::MethodNotAllowed {
            method: "DELETE".into(),
            allow: &["GET", "POST"],
        });
        assert_eq!(reply.status, 405);
        assert_eq!(reply.header("allow"), Some(&b"GET, POST"[..]));
        assert_eq!(reply.header("content-type"), Some(&b"application/json"[..]));
    }
}
