//! CORS for the local store, answered the way an S3 bucket with a CORS
//! configuration answers it, so that a page on another origin (one the
//! worker serves, say) can send a file straight to the store and read its
//! answer.
//!
//! `s3s` knows nothing of CORS, so this sits in front of its service: it
//! answers preflights itself and adds the CORS headers to the store's own
//! answers, errors included (a page shows the `<Code>` of a refusal).

use std::time::Duration;

use http::header::{self, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use s3s::service::S3Service;
use s3s::{Body, HttpError, HttpRequest, HttpResponse};

/// One bucket CORS rule, as S3's `CORSRule`: which browser origins may call
/// the store, with which methods and request headers, and which response
/// headers their scripts may read.
///
/// A request matches when its `Origin` is one of `allowed_origins` and its
/// method (for a preflight, its `Access-Control-Request-Method`) is one of
/// `allowed_methods`; a preflight also needs every header it names in
/// `Access-Control-Request-Headers` to match `allowed_headers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsRule {
    /// The origins allowed, exactly as a browser sends them in `Origin`:
    /// `scheme://host` or `scheme://host:port`, no path, no default port.
    pub allowed_origins: Vec<String>,
    /// The methods allowed (S3 allows `GET`, `PUT`, `POST`, `DELETE` and
    /// `HEAD` in a rule).
    pub allowed_methods: Vec<Method>,
    /// The request headers a preflight may ask for, compared without
    /// regard to case. Each may hold one `*` wildcard: `*` alone allows
    /// any header, `x-amz-*` every header starting `x-amz-`.
    pub allowed_headers: Vec<String>,
    /// The response headers a page's script may read
    /// (`Access-Control-Expose-Headers`).
    pub expose_headers: Vec<HeaderName>,
    /// How long a browser may keep a preflight's answer
    /// (`Access-Control-Max-Age`, whole seconds); `None` sends none.
    pub max_age: Option<Duration>,
}

impl CorsRule {
    /// What an upload page needs, from `origins`: `GET`, `PUT`, `POST` and
    /// `HEAD` with any request header, reading `ETag`, `Location`,
    /// `x-amz-request-id` and `x-amz-version-id`, preflights kept for ten
    /// minutes.
    pub fn for_origins<I, S>(origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            allowed_origins: origins.into_iter().map(Into::into).collect(),
            allowed_methods: vec![Method::GET, Method::PUT, Method::POST, Method::HEAD],
            allowed_headers: vec!["*".to_owned()],
            expose_headers: vec![
                header::ETAG,
                header::LOCATION,
                HeaderName::from_static("x-amz-request-id"),
                HeaderName::from_static("x-amz-version-id"),
            ],
            max_age: Some(Duration::from_secs(600)),
        }
    }

    fn allows_origin(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|allowed| allowed == origin)
    }

    fn allows_method(&self, method: &str) -> bool {
        self.allowed_methods.iter().any(|m| m.as_str() == method)
    }

    fn allows_header(&self, name: &str) -> bool {
        self.allowed_headers
            .iter()
            .any(|pattern| wildcard_match(pattern, name))
    }

    /// `items` as one comma-separated header value. Method names and header
    /// names are HTTP tokens, always a valid value, so `None` means an
    /// empty list.
    fn list<'a>(items: impl Iterator<Item = &'a str>) -> Option<HeaderValue> {
        let joined = items.collect::<Vec<_>>().join(", ");
        if joined.is_empty() {
            return None;
        }
        HeaderValue::from_str(&joined).ok()
    }
}

/// `value` matches `pattern`, ignoring ASCII case, where `pattern` may
/// hold one `*` standing for any run of characters (S3 allows at most one).
fn wildcard_match(pattern: &str, value: &str) -> bool {
    let (pattern, value) = (pattern.as_bytes(), value.as_bytes());
    match pattern.iter().position(|&b| b == b'*') {
        None => pattern.eq_ignore_ascii_case(value),
        Some(star) => {
            let (prefix, suffix) = (&pattern[..star], &pattern[star + 1..]);
            value.len() >= prefix.len() + suffix.len()
                && value[..prefix.len()].eq_ignore_ascii_case(prefix)
                && value[value.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
        }
    }
}

/// Answers `request` as a bucket with `rule` would: a preflight here, and
/// anything else through `service`, with the CORS headers added when the
/// request's origin and method match. Without a rule this is `service`
/// alone.
pub(crate) async fn call(
    rule: Option<&CorsRule>,
    service: &S3Service,
    request: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let Some(rule) = rule else {
        return service.call(request).await;
    };
    let origin = request.headers().get(header::ORIGIN).cloned();
    if let Some(origin) = &origin
        && request.method() == Method::OPTIONS
        && let Some(wanted) = request.headers().get(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        // A preflight never reaches `s3s`: it is unsigned, and S3 answers
        // it from the bucket's CORS configuration alone.
        let requested_headers = request
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS);
        return Ok(preflight(rule, origin, wanted, requested_headers));
    }
    let method = request.method().clone();
    let mut response = service.call(request).await?;
    if let Some(origin) = origin
        && origin.to_str().is_ok_and(|o| rule.allows_origin(o))
        && rule.allows_method(method.as_str())
    {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        // The answer differs by origin: a cache must not hand this one to
        // a page from another origin, nor a header-less one to this page.
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
        if let Some(expose) = CorsRule::list(rule.expose_headers.iter().map(HeaderName::as_str)) {
            headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, expose);
        }
    }
    // Another origin's request is served without CORS headers, as S3
    // serves it: the browser then keeps the answer from the page.
    Ok(response)
}

/// The answer to a preflight from `origin` for the method `wanted`, naming
/// `requested_headers`.
fn preflight(
    rule: &CorsRule,
    origin: &HeaderValue,
    wanted: &HeaderValue,
    requested_headers: Option<&HeaderValue>,
) -> HttpResponse {
    let origin_allowed = origin.to_str().is_ok_and(|o| rule.allows_origin(o));
    let method = wanted.to_str().unwrap_or_default();
    // Each requested header as a header name; one that is not a valid name
    // cannot match a rule, so it refuses the preflight.
    let requested: Option<Vec<HeaderName>> = match requested_headers {
        None => Some(Vec::new()),
        Some(value) => value.to_str().ok().and_then(|text| {
            text.split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(|name| HeaderName::from_bytes(name.as_bytes()).ok())
                .collect()
        }),
    };
    let headers_allowed = requested
        .as_ref()
        .is_some_and(|names| names.iter().all(|name| rule.allows_header(name.as_str())));
    if !(origin_allowed && rule.allows_method(method) && headers_allowed) {
        return refusal(method);
    }

    let mut response = HttpResponse::new(Body::empty());
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    if let Some(methods) = CorsRule::list(rule.allowed_methods.iter().map(Method::as_str)) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, methods);
    }
    // S3 echoes the requested headers the rule allows: with `*`, all of them.
    if let Some(allowed) = requested
        .as_deref()
        .and_then(|names| CorsRule::list(names.iter().map(HeaderName::as_str)))
    {
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, allowed);
    }
    if let Some(expose) = CorsRule::list(rule.expose_headers.iter().map(HeaderName::as_str)) {
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, expose);
    }
    if let Some(max_age) = rule.max_age {
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from(max_age.as_secs()),
        );
    }
    headers.insert(
        header::VARY,
        HeaderValue::from_static(
            "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
        ),
    );
    response
}

/// S3's refusal of a preflight no rule matches: 403 `AccessForbidden`,
/// with the `CORSResponse` message and the method asked for.
fn refusal(method: &str) -> HttpResponse {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessForbidden</Code>\
         <Message>CORSResponse: This CORS request is not allowed. The origin, the method \
         (Access-Control-Request-Method) or a header (Access-Control-Request-Headers) is not \
         allowed by the store's CORS rule.</Message><Method>{}</Method></Error>",
        quick_xml::escape::escape(method)
    );
    let mut response = HttpResponse::new(Body::from(xml));
    *response.status_mut() = StatusCode::FORBIDDEN;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::wildcard_match;

    #[test]
    fn a_wildcard_stands_for_any_run_and_case_is_ignored() {
        assert!(wildcard_match("*", "content-type"));
        assert!(wildcard_match("x-amz-*", "X-Amz-Meta-Name"));
        assert!(wildcard_match("x-amz-*", "x-amz-"));
        assert!(!wildcard_match("x-amz-*", "x-am"));
        assert!(wildcard_match("*-type", "Content-Type"));
        assert!(wildcard_match("Content-Type", "content-type"));
        assert!(!wildcard_match("content-type", "content-length"));
    }
}
