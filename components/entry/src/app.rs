//! The request handler as plain logic over a [`Services`] trait, so that
//! every route runs in host tests against fakes.

use serde_json::json;

use crate::bindings::edgeplug::worker::types::Error as WitError;
use crate::bindings::edgeplug::worker::uploader::{ObjectInfo, PutOptions};
use crate::errors::HttpError;
use crate::response::Reply;
use crate::router::{Route, route};
use crate::upload;

/// What the handler needs from the request before routing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestHead {
    /// The method as sent (`GET`, `PUT`, ...).
    pub method: String,
    /// The request target, `/` when the host gives none.
    pub path_with_query: String,
    /// Every `Content-Length` header value.
    pub content_length: Vec<Vec<u8>>,
    /// Every `Content-Type` header value.
    pub content_type: Vec<Vec<u8>>,
}

/// A `wasi:config/store` read failed; the message is the store's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

/// The imports the handler calls: `counter`, `uploader`, `wasi:config`.
pub trait Services {
    /// `counter.increment`.
    fn increment(&mut self, name: &str, delta: u64) -> Result<u64, WitError>;
    /// `counter.get`.
    fn get(&mut self, name: &str) -> Result<u64, WitError>;
    /// `wasi:config/store.get`.
    fn config(&mut self, key: &str) -> Result<Option<String>, ConfigError>;
    /// Streams the request body to `uploader.put`. Called at most once, and
    /// only after every check on the request head passed.
    fn put_body(&mut self, key: &str, opts: PutOptions) -> Result<ObjectInfo, HttpError>;
}

/// Serves one request; every outcome, success or error, is a [`Reply`].
pub fn handle(services: &mut impl Services, head: &RequestHead) -> Reply {
    serve(services, head).unwrap_or_else(|err| Reply::error(&err))
}

fn serve(services: &mut impl Services, head: &RequestHead) -> Result<Reply, HttpError> {
    match route(&head.method, &head.path_with_query)? {
        Route::PageViews => {
            let views = services.increment("page_views", 1)?;
            // No trailing newline: the FastEdge example's exact output.
            Ok(Reply::text(200, format!("Page views: {views}")))
        }
        Route::GetCounter { name } => {
            let value = services.get(&name)?;
            Ok(Reply::json(200, &json!({ "name": name, "value": value })))
        }
        Route::IncrementCounter { name, by } => {
            let value = services.increment(&name, by)?;
            Ok(Reply::json(200, &json!({ "name": name, "value": value })))
        }
        Route::PutObject { key, raw_key } => put_object(services, head, &key, &raw_key),
    }
}

fn put_object(
    services: &mut impl Services,
    head: &RequestHead,
    key: &str,
    raw_key: &str,
) -> Result<Reply, HttpError> {
    // Everything that can refuse the upload runs before the body is touched.
    let length = upload::content_length(&head.content_length)?;
    let limit = services
        .config(upload::KEY_MAX_UPLOAD)
        .map_err(|ConfigError(msg)| {
            HttpError::Unavailable(format!(
                "reading config key `{}` failed: {msg}",
                upload::KEY_MAX_UPLOAD
            ))
        })?;
    let limit = upload::max_upload(limit.as_deref())?;
    upload::check_size(length, limit)?;
    let content_type = upload::content_type(&head.content_type)?;
    let info = services.put_body(
        key,
        PutOptions {
            content_type,
            content_length: Some(length),
        },
    )?;
    let body = json!({ "key": info.key, "size": info.size, "etag": info.etag });
    Ok(Reply::json(201, &body).with_header("location", format!("/objects/{raw_key}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::edgeplug::worker::types::UpstreamError;
    use serde_json::Value;
    use std::collections::HashMap;

    /// Fakes for the imports, recording every call.
    #[derive(Default)]
    struct Fake {
        counters: HashMap<String, u64>,
        config: HashMap<String, String>,
        config_down: bool,
        counter_error: Option<WitError>,
        put_result: Option<Result<ObjectInfo, WitError>>,
        calls: Vec<String>,
    }

    impl Services for Fake {
        fn increment(&mut self, name: &str, delta: u64) -> Result<u64, WitError> {
            self.calls.push(format!("increment {name} {delta}"));
            if let Some(err) = self.counter_error.clone() {
                return Err(err);
            }
            let value = self.counters.entry(name.to_owned()).or_default();
            *value += delta;
            Ok(*value)
        }

        fn get(&mut self, name: &str) -> Result<u64, WitError> {
            self.calls.push(format!("get {name}"));
            if let Some(err) = self.counter_error.clone() {
                return Err(err);
            }
            Ok(self.counters.get(name).copied().unwrap_or(0))
        }

        fn config(&mut self, key: &str) -> Result<Option<String>, ConfigError> {
            self.calls.push(format!("config {key}"));
            if self.config_down {
                return Err(ConfigError("io error".into()));
            }
            Ok(self.config.get(key).cloned())
        }

        fn put_body(&mut self, key: &str, opts: PutOptions) -> Result<ObjectInfo, HttpError> {
            self.calls.push(format!(
                "put {key} {:?} {:?}",
                opts.content_type, opts.content_length
            ));
            match self.put_result.clone() {
                Some(result) => result.map_err(HttpError::from),
                None => Ok(ObjectInfo {
                    key: key.to_owned(),
                    size: opts.content_length.unwrap_or(0),
                    etag: "abc123".into(),
                }),
            }
        }
    }

    fn request(method: &str, target: &str) -> RequestHead {
        RequestHead {
            method: method.into(),
            path_with_query: target.into(),
            ..RequestHead::default()
        }
    }

    fn put(target: &str, length: Option<&str>) -> RequestHead {
        RequestHead {
            content_length: length.map(|l| l.as_bytes().to_vec()).into_iter().collect(),
            ..request("PUT", target)
        }
    }

    fn json_body(reply: &Reply) -> Value {
        assert_eq!(reply.header("content-type"), Some(&b"application/json"[..]));
        serde_json::from_slice(&reply.body).unwrap()
    }

    fn error_code(reply: &Reply) -> String {
        json_body(reply)["error"]["code"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn page_views() {
        let mut fake = Fake::default();
        handle(&mut fake, &request("GET", "/"));
        let reply = handle(&mut fake, &request("GET", "/"));
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.header("content-type"),
            Some(&b"text/plain; charset=utf-8"[..])
        );
        assert_eq!(reply.body, b"Page views: 2");
        assert_eq!(
            fake.calls,
            ["increment page_views 1", "increment page_views 1"]
        );
    }

    #[test]
    fn get_counter() {
        let mut fake = Fake::default();
        fake.counters.insert("hits".into(), 7);
        let reply = handle(&mut fake, &request("GET", "/counters/hits"));
        assert_eq!(reply.status, 200);
        assert_eq!(json_body(&reply), json!({"name": "hits", "value": 7}));
    }

    #[test]
    fn increment_counter() {
        let mut fake = Fake::default();
        let reply = handle(&mut fake, &request("POST", "/counters/hits?by=5"));
        assert_eq!(reply.status, 200);
        assert_eq!(json_body(&reply), json!({"name": "hits", "value": 5}));
        let reply = handle(&mut fake, &request("POST", "/counters/hits"));
        assert_eq!(json_body(&reply), json!({"name": "hits", "value": 6}));
    }

    #[test]
    fn counter_errors_map_to_statuses() {
        for (err, status, code) in [
            (
                WitError::InvalidInput("counter name is empty".into()),
                400,
                "invalid_input",
            ),
            (WitError::Unauthorized("denied".into()), 401, "unauthorized"),
            (WitError::Unavailable("kv down".into()), 503, "unavailable"),
            (WitError::Internal("bad value".into()), 500, "internal"),
        ] {
            let mut fake = Fake {
                counter_error: Some(err),
                ..Fake::default()
            };
            let reply = handle(&mut fake, &request("GET", "/counters/"));
            assert_eq!(reply.status, status);
            assert_eq!(error_code(&reply), code);
        }
    }

    #[test]
    fn bad_by_never_calls_the_counter() {
        let mut fake = Fake::default();
        let reply = handle(&mut fake, &request("POST", "/counters/x?by=-3"));
        assert_eq!(reply.status, 400);
        assert!(
            json_body(&reply)["error"]["message"]
                .as_str()
                .unwrap()
                .contains("`by`")
        );
        assert!(fake.calls.is_empty());
    }

    #[test]
    fn not_found_and_method_not_allowed() {
        let mut fake = Fake::default();
        let reply = handle(&mut fake, &request("GET", "/nope"));
        assert_eq!(reply.status, 404);
        assert_eq!(error_code(&reply), "not_found");
        let reply = handle(&mut fake, &request("HEAD", "/"));
        assert_eq!(reply.status, 405);
        assert_eq!(error_code(&reply), "method_not_allowed");
        assert_eq!(reply.header("allow"), Some(&b"GET"[..]));
        assert!(fake.calls.is_empty());
    }

    #[test]
    fn put_object() {
        let mut fake = Fake::default();
        let mut head = put("/objects/dir/my%20file.txt", Some("11"));
        head.content_type = vec![b"text/plain".to_vec()];
        let reply = handle(&mut fake, &head);
        assert_eq!(reply.status, 201);
        assert_eq!(
            json_body(&reply),
            json!({"key": "dir/my file.txt", "size": 11, "etag": "abc123"})
        );
        assert_eq!(
            reply.header("location"),
            Some(&b"/objects/dir/my%20file.txt"[..])
        );
        assert_eq!(
            fake.calls,
            [
                "config max-upload-bytes",
                "put dir/my file.txt Some(\"text/plain\") Some(11)"
            ]
        );
    }

    #[test]
    fn put_without_length_is_411_before_the_body() {
        let mut fake = Fake::default();
        let reply = handle(&mut fake, &put("/objects/a", None));
        assert_eq!(reply.status, 411);
        assert_eq!(error_code(&reply), "length_required");
        assert!(fake.calls.is_empty());
    }

    #[test]
    fn put_with_bad_length_is_400() {
        let mut fake = Fake::default();
        let reply = handle(&mut fake, &put("/objects/a", Some("ten")));
        assert_eq!(reply.status, 400);
        assert_eq!(error_code(&reply), "invalid_input");
        assert!(fake.calls.is_empty());
    }

    #[test]
    fn put_over_the_limit_is_413_with_limit() {
        let mut fake = Fake::default();
        fake.config.insert("max-upload-bytes".into(), "100".into());
        let reply = handle(&mut fake, &put("/objects/a", Some("101")));
        assert_eq!(reply.status, 413);
        let body = json_body(&reply);
        assert_eq!(body["error"]["code"], "too_large");
        assert_eq!(body["error"]["limit"], 100);
        assert!(body["error"]["message"].as_str().unwrap().contains("100"));
        assert_eq!(fake.calls, ["config max-upload-bytes"]);
    }

    #[test]
    fn put_over_the_default_limit() {
        let mut fake = Fake::default();
        let reply = handle(&mut fake, &put("/objects/a", Some("5368709121")));
        assert_eq!(reply.status, 413);
        assert_eq!(json_body(&reply)["error"]["limit"], 5_368_709_120_u64);
        let reply = handle(&mut fake, &put("/objects/a", Some("5368709120")));
        assert_eq!(reply.status, 201);
    }

    #[test]
    fn bad_limit_config_is_500() {
        let mut fake = Fake::default();
        fake.config.insert("max-upload-bytes".into(), "lots".into());
        let reply = handle(&mut fake, &put("/objects/a", Some("1")));
        assert_eq!(reply.status, 500);
        assert!(
            json_body(&reply)["error"]["message"]
                .as_str()
                .unwrap()
                .contains("max-upload-bytes")
        );
    }

    #[test]
    fn config_store_down_is_503() {
        let mut fake = Fake {
            config_down: true,
            ..Fake::default()
        };
        let reply = handle(&mut fake, &put("/objects/a", Some("1")));
        assert_eq!(reply.status, 503);
        assert_eq!(error_code(&reply), "unavailable");
    }

    #[test]
    fn undecodable_key_is_400_before_anything() {
        let mut fake = Fake::default();
        let reply = handle(&mut fake, &put("/objects/a%zz", Some("1")));
        assert_eq!(reply.status, 400);
        assert!(fake.calls.is_empty());
    }

    #[test]
    fn empty_key_reaches_the_uploader() {
        let mut fake = Fake {
            put_result: Some(Err(WitError::InvalidInput("object key is empty".into()))),
            ..Fake::default()
        };
        let reply = handle(&mut fake, &put("/objects/", Some("0")));
        assert_eq!(reply.status, 400);
        assert_eq!(
            json_body(&reply),
            json!({"error": {"code": "invalid_input", "message": "object key is empty"}})
        );
    }

    #[test]
    fn uploader_errors_map_to_statuses() {
        let upstream = WitError::Upstream(UpstreamError {
            status: 403,
            code: "AccessDenied".into(),
            message: "Access Denied".into(),
        });
        let mut fake = Fake {
            put_result: Some(Err(upstream)),
            ..Fake::default()
        };
        let reply = handle(&mut fake, &put("/objects/a", Some("1")));
        assert_eq!(reply.status, 502);
        assert_eq!(
            json_body(&reply),
            json!({"error": {
                "code": "upstream",
                "message": "Access Denied",
                "upstream": {"status": 403, "code": "AccessDenied"}
            }})
        );
        fake.put_result = Some(Err(WitError::TooLarge(10)));
        let reply = handle(&mut fake, &put("/objects/a", Some("1")));
        assert_eq!(reply.status, 413);
        assert_eq!(json_body(&reply)["error"]["limit"], 10);
    }
}
