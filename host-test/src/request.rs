//! Building requests for [`HttpWorker`] without depending on `http`,
//! `http-body-util` or wasmtime's body types.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};

use crate::{HttpWorker, Response};

/// The body type of the requests [`Request::build`] makes: a whole body in
/// memory, in the error type [`HttpWorker::send`] expects.
pub type FullBody = http_body_util::combinators::BoxBody<Bytes, wasmtime_wasi_http::Error>;

/// A request to send into a worker, built step by step:
///
/// ```no_run
/// # async fn run(worker: &host_test::HttpWorker) -> anyhow::Result<()> {
/// use host_test::Request;
///
/// let response = Request::post("/counters/likes?by=5")
///     .header("x-client-ip", "203.0.113.7")
///     .body("ignored by this route")
///     .send(worker)
///     .await?;
/// assert_eq!(response.status, 200);
/// # Ok(())
/// # }
/// ```
///
/// `Content-Length` is set from the body unless a header sets it (or
/// `transfer-encoding`) explicitly.
#[derive(Debug, Clone)]
pub struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Bytes,
}

impl Request {
    /// A `method` request for `path` (which may carry a query).
    pub fn new(method: impl Into<String>, path: impl Into<String>) -> Self {
        Self {
            method: method.into(),
            path: path.into(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// A `GET` for `path`.
    pub fn get(path: impl Into<String>) -> Self {
        Self::new("GET", path)
    }

    /// A `POST` to `path`.
    pub fn post(path: impl Into<String>) -> Self {
        Self::new("POST", path)
    }

    /// A `PUT` to `path`.
    pub fn put(path: impl Into<String>) -> Self {
        Self::new("PUT", path)
    }

    /// A `DELETE` of `path`.
    pub fn delete(path: impl Into<String>) -> Self {
        Self::new("DELETE", path)
    }

    /// Adds a header (a name may repeat).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// The `http::Request`, addressed to `http://localhost{path}`. Fails on
    /// a method, path or header that is not valid HTTP.
    pub fn build(self) -> anyhow::Result<http::Request<FullBody>> {
        let sets_length = self.headers.iter().any(|(name, _)| {
            name.eq_ignore_ascii_case("content-length")
                || name.eq_ignore_ascii_case("transfer-encoding")
        });
        let mut builder = http::Request::builder()
            .method(self.method.as_str())
            .uri(format!("http://localhost{}", self.path));
        if !sets_length {
            builder = builder.header(http::header::CONTENT_LENGTH, self.body.len());
        }
        for (name, value) in &self.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        Ok(builder.body(Full::new(self.body).map_err(|never| match never {}).boxed())?)
    }

    /// Sends the request into `worker` (a fresh instance) and reads the
    /// whole response.
    pub async fn send(self, worker: &HttpWorker) -> anyhow::Result<Response> {
        worker.send(self.build()?).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_comes_from_the_body_unless_set() {
        let request = Request::put("/objects/a?x=1")
            .header("x-client-ip", "203.0.113.7")
            .body("abc")
            .build()
            .expect("valid");
        assert_eq!(request.method(), "PUT");
        assert_eq!(request.uri(), "http://localhost/objects/a?x=1");
        assert_eq!(request.headers()["content-length"], "3");
        assert_eq!(request.headers()["x-client-ip"], "203.0.113.7");
        let chunked = Request::put("/")
            .header("Transfer-Encoding", "chunked")
            .build()
            .expect("valid");
        assert!(chunked.headers().get("content-length").is_none());
    }

    #[test]
    fn invalid_requests_are_errors_not_panics() {
        assert!(Request::get("/").header("bad name", "v").build().is_err());
        assert!(Request::new("BAD METHOD", "/").build().is_err());
    }
}
