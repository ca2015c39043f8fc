//! Answers as plain data; the wasm glue writes them out.

use serde_json::Value;

use crate::errors::AppError;

/// A complete answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// Header names (lower case) and values.
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// A `text/html` page.
    pub fn html(page: String) -> Self {
        Self {
            status: 200,
            headers: vec![
                ("content-type", "text/html; charset=utf-8".to_owned()),
                // Counts change with every view.
                ("cache-control", "no-store".to_owned()),
            ],
            body: page.into_bytes(),
        }
    }

    /// An `application/json` answer.
    pub fn json(status: u16, value: &Value) -> Self {
        Self {
            status,
            headers: vec![
                ("content-type", "application/json".to_owned()),
                // A policy is a credential for one upload: no cache keeps it.
                ("cache-control", "no-store".to_owned()),
            ],
            body: value.to_string().into_bytes(),
        }
    }

    /// The JSON error answer, with `allow` on a 405 and
    /// `www-authenticate: Bearer` on a 401.
    pub fn error(error: &AppError) -> Self {
        let mut reply = Self::json(error.status(), &error.to_json());
        match error {
            AppError::MethodNotAllowed { allow } => reply.headers.push(("allow", allow.join(", "))),
            AppError::Unauthorized => reply
                .headers
                .push(("www-authenticate", "Bearer".to_owned())),
            _ => {}
        }
        reply
    }

    /// The first header called `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}
