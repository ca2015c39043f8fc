//! Routing: (method, path-with-query) to a [`Route`] or an error answer.
//!
//! | path                            | methods   |
//! |---------------------------------|-----------|
//! | `/`                             | GET       |
//! | `/counters/{name}`              | GET, POST |
//! | `/objects/{key..}`              | PUT       |
//! | `/objects/{key..}/presign`      | POST, PUT |
//! | `/objects/{key..}/presign-post` | POST, PUT |
//!
//! Matching is exact: no trailing-slash or case folding, so `/counters/a/`
//! and `/objects` are 404. `{name}` is one segment (a `/` in it is a 404;
//! `%2F` decodes and is then refused by the counter component). `{key..}`
//! is everything after `/objects/`, slashes included. Both are strictly
//! percent-decoded; an empty one is passed on, so the owning component
//! answers with its own `invalid-input` (a 400).
//!
//! A public counter name may not contain `:` (400): names with `:` are
//! component namespaces (the rate limiter counts in `rl:…`), which the public
//! route must never read or write. Object keys with control, bidi,
//! zero-width or line/paragraph separator characters are refused (400).
//!
//! `/presign` and `/presign-post` are recognised in the raw path, and only
//! with POST: `POST /objects/a/presign` presigns the object `a`, while `PUT
//! /objects/a/presign` uploads the object `a/presign`, so every key can
//! still be uploaded. A key whose last segment is `presign` is presigned
//! as `/objects/{key}/presign` (`a/presign/presign`), and a literal
//! `%2Fpresign` is part of the key, never the action.
//!
//! Query parameters:
//! - `POST /counters/{name}?by=N`: `by` from 1 to `max-increment` (checked
//!   once the config is read), 1 when absent.
//! - `POST /objects/{key..}/presign?content_type=T&content_length=N&expires=S`:
//!   `content_type` and `content_length` required, `expires` (seconds, 1 to
//!   604800) defaults to 900.
//! - `POST /objects/{key..}/presign-post?content_type=T&max_length=N`
//!   `[&min_length=M][&expires=S][&prefix=true]`: `content_type` and
//!   `max_length` required, `min_length` defaults to 0; with `prefix=true`
//!   `{key..}` is a key prefix (not empty) that the browser's key must start
//!   with, instead of the exact key.
//!
//! Routing runs in two steps so that auth can sit between them:
//! [`resolve`] matches the path and method (404, 405) without decoding
//! anything, then [`Endpoint::parse`] decodes the key or name and the query
//! (400).

use crate::auth::Write;
use crate::errors::HttpError;
use crate::key::{check_object_key, decode};
use crate::presign::{PostPolicyQuery, parse_content_type, parse_expires};
use crate::query::{parse_by, required_u64_param};

/// A request the entry knows how to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /`: count a page view, answer `Page views: N`.
    PageViews,
    /// `GET /counters/{name}`: read a counter.
    GetCounter {
        /// The decoded counter name.
        name: String,
    },
    /// `POST /counters/{name}?by=N`: add `by` (default 1) to a counter.
    IncrementCounter {
        /// The decoded counter name.
        name: String,
        /// How much to add.
        by: u64,
    },
    /// `PUT /objects/{key..}`: upload the body.
    PutObject {
        /// The decoded object key.
        key: String,
        /// The key as it appeared in the request path, for `location`.
        raw_key: String,
    },
    /// `POST /objects/{key..}/presign?content_type=T&content_length=N&expires=S`:
    /// presign a `PUT` of the object.
    PresignObject {
        /// The decoded object key.
        key: String,
        /// How long the URL works, in seconds.
        expires: u32,
        /// The `Content-Type` bound into the signature.
        content_type: String,
        /// The exact body length bound into the signature.
        content_length: u64,
    },
    /// `POST /objects/{key..}/presign-post?…`: presign a POST policy for a
    /// browser form upload of the object (or of any key under a prefix).
    PresignPost {
        /// The decoded key, or key prefix.
        key: String,
        /// The policy's options from the query.
        query: PostPolicyQuery,
    },
}

/// A matched route whose path and query are not decoded yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint<'a> {
    /// `GET /`.
    PageViews,
    /// `GET /counters/{name}`, with the raw name.
    GetCounter(&'a str),
    /// `POST /counters/{name}`, with the raw name and query.
    IncrementCounter(&'a str, Option<&'a str>),
    /// `PUT /objects/{key..}`, with the raw key.
    PutObject(&'a str),
    /// `POST /objects/{key..}/presign`, with the raw key and query.
    PresignObject(&'a str, Option<&'a str>),
    /// `POST /objects/{key..}/presign-post`, with the raw key and query.
    PresignPost(&'a str, Option<&'a str>),
}

impl Endpoint<'_> {
    /// Which kind of write the route is, if it is one: uploads and both
    /// presign routes are [`Write::Uploads`], counter increments
    /// [`Write::CounterWrites`]; reads (and `GET /`) are open.
    pub fn write(&self) -> Option<Write> {
        match self {
            Self::PutObject(_) | Self::PresignObject(..) | Self::PresignPost(..) => {
                Some(Write::Uploads)
            }
            Self::IncrementCounter(..) => Some(Write::CounterWrites),
            Self::PageViews | Self::GetCounter(_) => None,
        }
    }

    /// Decodes the path parameter and the query into a [`Route`].
    pub fn parse(self) -> Result<Route, HttpError> {
        let name = |raw| {
            let name = decode(raw).map_err(|err| {
                HttpError::InvalidInput(format!("counter name in the path: {err}"))
            })?;
            public_counter_name(name)
        };
        let key = |raw| {
            let key = decode(raw)
                .map_err(|err| HttpError::InvalidInput(format!("object key in the path: {err}")))?;
            check_object_key(&key, "object key")?;
            Ok::<_, HttpError>(key)
        };
        Ok(match self {
            Self::PageViews => Route::PageViews,
            Self::GetCounter(raw) => Route::GetCounter { name: name(raw)? },
            Self::IncrementCounter(raw, query) => Route::IncrementCounter {
                name: name(raw)?,
                by: parse_by(query)?,
            },
            Self::PutObject(raw) => Route::PutObject {
                key: key(raw)?,
                raw_key: raw.to_owned(),
            },
            Self::PresignObject(raw, query) => Route::PresignObject {
                key: key(raw)?,
                expires: parse_expires(query)?,
                content_type: parse_content_type(query)?,
                content_length: required_u64_param(
                    query,
                    "content_length",
                    "the exact size of the upload in bytes",
                )?,
            },
            Self::PresignPost(raw, query) => {
                let key = key(raw)?;
                let query = PostPolicyQuery::parse(query)?;
                if query.prefix && key.is_empty() {
                    return Err(HttpError::InvalidInput(
                        "a key prefix (`prefix=true`) must not be empty: a policy for \
                         every key in the bucket is not offered"
                            .into(),
                    ));
                }
                Route::PresignPost { key, query }
            }
        })
    }
}

/// Refuses a counter name in the component namespace convention (`:`), so
/// that the public route never reaches the rate limiter's (or any other
/// component's) counters. The counter component checks the rest.
fn public_counter_name(name: String) -> Result<String, HttpError> {
    if name.contains(':') {
        return Err(HttpError::InvalidInput(
            "counter names in the path may not contain `:`, which marks the \
             namespaces of other components (such as the rate limiter's `rl:`)"
                .into(),
        ));
    }
    Ok(name)
}

/// The resources, before the method is considered.
enum Resource<'a> {
    Root,
    Counter(&'a str),
    /// `/objects/{raw}`; `action` is set when `raw` ends in `/presign` or
    /// `/presign-post`, with the key before it.
    Object {
        raw: &'a str,
        action: Option<(Action, &'a str)>,
    },
}

/// What a `POST` to an object path does.
#[derive(Clone, Copy)]
enum Action {
    PresignPut,
    PresignPost,
}

impl Resource<'_> {
    /// The methods the resource accepts, in `allow` header order.
    fn allow(&self) -> &'static [&'static str] {
        match self {
            Resource::Root => &["GET"],
            Resource::Counter(_) => &["GET", "POST"],
            Resource::Object { action: None, .. } => &["PUT"],
            Resource::Object {
                action: Some(_), ..
            } => &["POST", "PUT"],
        }
    }
}

fn resource(path: &str) -> Option<Resource<'_>> {
    if path == "/" {
        return Some(Resource::Root);
    }
    if let Some(name) = path.strip_prefix("/counters/") {
        return (!name.contains('/')).then_some(Resource::Counter(name));
    }
    path.strip_prefix("/objects/").map(|raw| {
        let action = raw
            .strip_suffix("/presign")
            .map(|key| (Action::PresignPut, key))
            .or_else(|| {
                raw.strip_suffix("/presign-post")
                    .map(|key| (Action::PresignPost, key))
            });
        Resource::Object { raw, action }
    })
}

/// Matches a request to an [`Endpoint`] without decoding anything: 404 for
/// an unknown path, 405 (with the allowed methods) for a known path with
/// the wrong method. `method` is the HTTP method as sent (methods are
/// case-sensitive); `path_with_query` is the request target.
pub fn resolve<'a>(method: &str, path_with_query: &'a str) -> Result<Endpoint<'a>, HttpError> {
    let (path, query) = match path_with_query.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path_with_query, None),
    };
    let Some(resource) = resource(path) else {
        return Err(HttpError::NotFound(format!("no route for {path}")));
    };
    // The method is checked before the path is decoded: a 405 is the more
    // useful answer when both are wrong.
    let allow = resource.allow();
    if !allow.contains(&method) {
        return Err(HttpError::MethodNotAllowed {
            method: method.to_owned(),
            allow,
        });
    }
    Ok(match (resource, method) {
        (Resource::Root, _) => Endpoint::PageViews,
        (Resource::Counter(raw), "GET") => Endpoint::GetCounter(raw),
        (Resource::Counter(raw), _) => Endpoint::IncrementCounter(raw, query),
        (
            Resource::Object {
                action: Some((action, raw)),
                ..
            },
            "POST",
        ) => match action {
            Action::PresignPut => Endpoint::PresignObject(raw, query),
            Action::PresignPost => Endpoint::PresignPost(raw, query),
        },
        (Resource::Object { raw, .. }, _) => Endpoint::PutObject(raw),
    })
}

/// [`resolve`] then [`Endpoint::parse`]: routes a request in one step.
pub fn route(method: &str, path_with_query: &str) -> Result<Route, HttpError> {
    resolve(method, path_with_query)?.parse()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(method: &str, target: &str) -> Route {
        match route(method, target) {
            Ok(route) => route,
            Err(err) => panic!("{method} {target}: {err:?}"),
        }
    }

    fn status(method: &str, target: &str) -> u16 {
        match route(method, target) {
            Ok(route) => panic!("{method} {target}: routed to {route:?}"),
            Err(err) => err.status(),
        }
    }

    fn counter(name: &str) -> Route {
        Route::GetCounter { name: name.into() }
    }

    fn increment(name: &str, by: u64) -> Route {
        Route::IncrementCounter {
            name: name.into(),
            by,
        }
    }

    fn object(key: &str, raw_key: &str) -> Route {
        Route::PutObject {
            key: key.into(),
            raw_key: raw_key.into(),
        }
    }

    #[test]
    fn root() {
        assert_eq!(ok("GET", "/"), Route::PageViews);
        assert_eq!(ok("GET", "/?utm=x"), Route::PageViews);
    }

    #[test]
    fn counters() {
        assert_eq!(ok("GET", "/counters/page_views"), counter("page_views"));
        assert_eq!(ok("GET", "/counters/a?by=zz"), counter("a"));
        assert_eq!(ok("POST", "/counters/hits"), increment("hits", 1));
        assert_eq!(ok("POST", "/counters/hits?by=10"), increment("hits", 10));
        assert_eq!(ok("POST", "/counters/hits?x=1&by=0"), increment("hits", 0));
    }

    #[test]
    fn empty_counter_name_is_passed_on() {
        // The counter component refuses it with invalid-input (400).
        assert_eq!(ok("GET", "/counters/"), counter(""));
        assert_eq!(ok("POST", "/counters/"), increment("", 1));
    }

    #[test]
    fn counter_names_are_decoded_but_not_validated() {
        assert_eq!(ok("GET", "/counters/a%2Fb"), counter("a/b"));
        assert_eq!(ok("GET", "/counters/caf%C3%A9"), counter("café"));
        assert_eq!(status("GET", "/counters/a%zz"), 400);
        assert_eq!(status("GET", "/counters/%FF"), 400);
    }

    #[test]
    fn namespaced_counter_names_are_400() {
        for target in [
            "/counters/a:b",
            "/counters/a%3Ab",
            "/counters/rl:1:x",
            "/counters/:",
        ] {
            assert_eq!(status("GET", target), 400, "{target}");
            assert_eq!(status("POST", target), 400, "{target}");
        }
    }

    #[test]
    fn bad_by_is_400() {
        assert_eq!(status("POST", "/counters/a?by=-1"), 400);
        assert_eq!(status("POST", "/counters/a?by="), 400);
        assert_eq!(status("POST", "/counters/a?by=99999999999999999999"), 400);
    }

    #[test]
    fn objects() {
        assert_eq!(ok("PUT", "/objects/a.txt"), object("a.txt", "a.txt"));
        assert_eq!(
            ok("PUT", "/objects/a/b/c.bin"),
            object("a/b/c.bin", "a/b/c.bin")
        );
        assert_eq!(
            ok("PUT", "/objects/my%20file.txt?x=1"),
            object("my file.txt", "my%20file.txt")
        );
        assert_eq!(ok("PUT", "/objects/dir/"), object("dir/", "dir/"));
        // Key validation (empty, `..`, ...) is the uploader's job.
        assert_eq!(ok("PUT", "/objects/"), object("", ""));
        assert_eq!(ok("PUT", "/objects/../x"), object("../x", "../x"));
    }

    fn presign(key: &str, expires: u32, content_type: &str, content_length: u64) -> Route {
        Route::PresignObject {
            key: key.into(),
            expires,
            content_type: content_type.into(),
            content_length,
        }
    }

    /// The query every presign test needs, after `extra`.
    fn q(path: &str, extra: &str) -> String {
        format!("{path}?{extra}content_type=a%2Fb&content_length=7")
    }

    #[test]
    fn presign_routes() {
        assert_eq!(
            ok("POST", &q("/objects/a.txt/presign", "")),
            presign("a.txt", 900, "a/b", 7)
        );
        assert_eq!(
            ok(
                "POST",
                "/objects/a/b%20c.png/presign?expires=60&content_type=image%2Fpng&content_length=5"
            ),
            presign("a/b c.png", 60, "image/png", 5)
        );
        // The key is everything before the final `/presign`.
        assert_eq!(
            ok("POST", &q("/objects/x/presign/presign", "")),
            presign("x/presign", 900, "a/b", 7)
        );
        assert_eq!(
            ok("POST", &q("/objects/presign/presign", "")),
            presign("presign", 900, "a/b", 7)
        );
        // An empty key is passed on, for the uploader to refuse.
        assert_eq!(
            ok("POST", &q("/objects//presign", "")),
            presign("", 900, "a/b", 7)
        );
    }

    #[test]
    fn presign_post_routes() {
        let route = ok(
            "POST",
            "/objects/u/1/presign-post?content_type=image%2Fpng&max_length=10&prefix=true",
        );
        assert_eq!(
            route,
            Route::PresignPost {
                key: "u/1".into(),
                query: PostPolicyQuery {
                    content_type: "image/png".into(),
                    min_length: 0,
                    max_length: 10,
                    expires: 900,
                    prefix: true,
                }
            }
        );
        // `/presign-post` is the action, `/presign` would be part of the key.
        let Route::PresignPost { key, .. } = ok(
            "POST",
            "/objects/a/presign/presign-post?content_type=a%2Fb&max_length=1",
        ) else {
            panic!("a POST policy");
        };
        assert_eq!(key, "a/presign");
        assert_eq!(
            status(
                "POST",
                "/objects//presign-post?content_type=a%2Fb&max_length=1&prefix=true"
            ),
            400
        );
    }

    #[test]
    fn keys_ending_in_presign_can_still_be_uploaded() {
        assert_eq!(
            ok("PUT", "/objects/x/presign"),
            object("x/presign", "x/presign")
        );
        assert_eq!(
            ok("PUT", "/objects/x/presign/presign"),
            object("x/presign/presign", "x/presign/presign")
        );
        assert_eq!(ok("PUT", "/objects/presign"), object("presign", "presign"));
        assert_eq!(
            ok("PUT", "/objects/x/presign?expires=zz"),
            object("x/presign", "x/presign")
        );
        assert_eq!(
            ok("PUT", "/objects/x/presign-post"),
            object("x/presign-post", "x/presign-post")
        );
    }

    #[test]
    fn only_a_literal_final_presign_segment_presigns() {
        // No `/presign` segment at the end: POST is not allowed.
        for target in [
            "/objects/presign",
            "/objects/xpresign",
            "/objects/x/presign/",
            "/objects/x%2Fpresign",
            "/objects/x/Presign",
            "/objects/x/presign.txt",
            "/objects/x/presign%20",
            "/objects/x/presign-post/",
            "/objects/x%2Fpresign-post",
            "/objects/x/presign-posts",
        ] {
            assert_eq!(status("POST", target), 405, "{target}");
        }
    }

    #[test]
    fn bad_presign_options_are_400() {
        assert_eq!(status("POST", &q("/objects/a/presign", "expires=0&")), 400);
        assert_eq!(
            status("POST", &q("/objects/a/presign", "expires=604801&")),
            400
        );
        assert_eq!(
            status("POST", &q("/objects/a/presign", "expires=abc&")),
            400
        );
        assert_eq!(
            status("POST", "/objects/a/presign?content_type=&content_length=1"),
            400
        );
        assert_eq!(status("POST", "/objects/a/presign?content_length=1"), 400);
        assert_eq!(status("POST", "/objects/a/presign?content_type=a%2Fb"), 400);
        assert_eq!(
            status(
                "POST",
                "/objects/a/presign?content_type=a%2Fb&content_length=1.5"
            ),
            400
        );
        assert_eq!(status("POST", &q("/objects/a%zz/presign", "")), 400);
    }

    #[test]
    fn disguising_object_keys_are_400() {
        assert_eq!(status("PUT", "/objects/a%E2%80%AEb"), 400);
        assert_eq!(status("PUT", "/objects/a%0Ab"), 400);
        assert_eq!(status("POST", &q("/objects/a%E2%81%A6b/presign", "")), 400);
        let err = route("PUT", "/objects/x%E2%80%8B").unwrap_err();
        assert_eq!(
            err.to_string(),
            "object key contains U+200B at byte 1: control, bidi, zero-width and line or \
             paragraph separator characters are not allowed in keys"
        );
    }

    #[test]
    fn every_write_is_classified() {
        let write = |method: &str, target: &str| resolve(method, target).unwrap().write();
        assert_eq!(write("PUT", "/objects/a"), Some(Write::Uploads));
        assert_eq!(write("PUT", "/objects/a/presign"), Some(Write::Uploads));
        assert_eq!(write("POST", "/objects/a/presign"), Some(Write::Uploads));
        assert_eq!(
            write("POST", "/objects/a/presign-post"),
            Some(Write::Uploads)
        );
        // Decoding comes after auth, so a bad key or option still needs it.
        assert_eq!(write("PUT", "/objects/%zz"), Some(Write::Uploads));
        assert_eq!(
            write("POST", "/objects/a/presign?expires=0"),
            Some(Write::Uploads)
        );
        assert_eq!(
            write("POST", "/counters/a?by=2"),
            Some(Write::CounterWrites)
        );
        assert_eq!(
            write("POST", "/counters/rl:1:a?by=2"),
            Some(Write::CounterWrites)
        );
        assert_eq!(write("GET", "/"), None);
        assert_eq!(write("GET", "/counters/a"), None);
    }

    #[test]
    fn resolve_does_not_decode() {
        assert_eq!(
            resolve("PUT", "/objects/a%zz?x"),
            Ok(Endpoint::PutObject("a%zz"))
        );
        assert_eq!(
            resolve("POST", "/objects/a%20b/presign?expires=0"),
            Ok(Endpoint::PresignObject("a%20b", Some("expires=0")))
        );
        assert_eq!(
            resolve("POST", "/counters/%zz?by=x"),
            Ok(Endpoint::IncrementCounter("%zz", Some("by=x")))
        );
    }

    #[test]
    fn undecodable_object_keys_are_400() {
        assert_eq!(status("PUT", "/objects/a%"), 400);
        assert_eq!(status("PUT", "/objects/%C3%28"), 400);
        let err = route("PUT", "/objects/%zz").unwrap_err();
        assert_eq!(
            err.to_string(),
            "object key in the path: invalid percent-encoding at byte 0"
        );
    }

    #[test]
    fn unknown_paths_are_404() {
        for target in [
            "",
            "//",
            "/counters",
            "/counters/a/",
            "/counters/a/b",
            "/objects",
            "/Objects/a",
            "/index.html",
            "?x",
        ] {
            assert_eq!(status("GET", target), 404, "{target}");
            assert_eq!(status("PUT", target), 404, "{target}");
        }
    }

    #[test]
    fn wrong_methods_are_405_with_allow() {
        let allow = |method: &str, target: &str| match route(method, target) {
            Err(HttpError::MethodNotAllowed { allow, .. }) => allow.join(", "),
            other => panic!("{method} {target}: {other:?}"),
        };
        assert_eq!(allow("POST", "/"), "GET");
        assert_eq!(allow("HEAD", "/"), "GET");
        assert_eq!(allow("DELETE", "/counters/a"), "GET, POST");
        assert_eq!(allow("HEAD", "/counters/a"), "GET, POST");
        assert_eq!(allow("PUT", "/counters/a"), "GET, POST");
        assert_eq!(allow("GET", "/objects/a"), "PUT");
        assert_eq!(allow("POST", "/objects/a"), "PUT");
        assert_eq!(allow("POST", "/objects/a/b"), "PUT");
        assert_eq!(allow("GET", "/objects/a/presign"), "POST, PUT");
        assert_eq!(allow("DELETE", "/objects/a/presign"), "POST, PUT");
        assert_eq!(allow("post", "/objects/a/presign"), "POST, PUT");
        assert_eq!(allow("GET", "/objects/presign"), "PUT");
        assert_eq!(allow("GET", "/objects/a/presign-post"), "POST, PUT");
        assert_eq!(allow("get", "/"), "GET");
        // The method wins over a bad path segment.
        assert_eq!(allow("DELETE", "/objects/%zz"), "PUT");
    }
}
