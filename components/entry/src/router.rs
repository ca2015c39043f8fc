//! Routing: (method, path-with-query) to a [`Route`] or an error answer.
//!
//! | path               | methods     |
//! |--------------------|-------------|
//! | `/`                | GET         |
//! | `/counters/{name}` | GET, POST   |
//! | `/objects/{key..}` | PUT         |
//!
//! Matching is exact: no trailing-slash or case folding, so `/counters/a/`
//! and `/objects` are 404. `{name}` is one segment (a `/` in it is a 404;
//! `%2F` decodes and is then refused by the counter component). `{key..}`
//! is everything after `/objects/`, slashes included. Both are strictly
//! percent-decoded; an empty one is passed on, so the owning component
//! answers with its own `invalid-input` (a 400).

use crate::errors::HttpError;
use crate::key::decode;
use crate::query::parse_by;

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
}

/// The resources, before the method is considered.
enum Resource<'a> {
    Root,
    Counter(&'a str),
    Object(&'a str),
}

impl Resource<'_> {
    /// The methods the resource accepts, in `allow` header order.
    fn allow(&self) -> &'static [&'static str] {
        match self {
            Resource::Root => &["GET"],
            Resource::Counter(_) => &["GET", "POST"],
            Resource::Object(_) => &["PUT"],
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
    path.strip_prefix("/objects/").map(Resource::Object)
}

/// Routes a request. `method` is the HTTP method as sent (methods are
/// case-sensitive); `path_with_query` is the request target.
pub fn route(method: &str, path_with_query: &str) -> Result<Route, HttpError> {
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
    match resource {
        Resource::Root => Ok(Route::PageViews),
        Resource::Counter(raw) => {
            let name = decode(raw).map_err(|err| {
                HttpError::InvalidInput(format!("counter name in the path: {err}"))
            })?;
            if method == "GET" {
                Ok(Route::GetCounter { name })
            } else {
                Ok(Route::IncrementCounter {
                    name,
                    by: parse_by(query)?,
                })
            }
        }
        Resource::Object(raw) => {
            let key = decode(raw)
                .map_err(|err| HttpError::InvalidInput(format!("object key in the path: {err}")))?;
            Ok(Route::PutObject {
                key,
                raw_key: raw.to_owned(),
            })
        }
    }
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
        assert_eq!(ok("GET", "/counters/a%3Ab"), counter("a:b"));
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
        assert_eq!(allow("get", "/"), "GET");
        // The method wins over a bad path segment.
        assert_eq!(allow("DELETE", "/objects/%zz"), "PUT");
    }
}
