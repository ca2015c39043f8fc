//! The request handler as plain logic over a [`Services`] trait, so that
//! every route runs in host tests against fakes.
//!
//! The order of checks on uploads and presigning is deliberate: route (404,
//! 405), then the upload token (401), then the path and query (400), then
//! the length and limit (400, 413), and only then the uploader. An
//! unauthenticated client learns nothing about keys or limits, and no byte
//! of a refused body goes upstream.

use std::fmt;

use serde_json::json;

use crate::auth;
use crate::bindings::edgeplug::worker::types::Error as WitError;
use crate::bindings::edgeplug::worker::uploader::{ObjectInfo, PresignedRequest, PutOptions};
use crate::errors::HttpError;
use crate::presign;
use crate::response::Reply;
use crate::router::{Route, resolve};
use crate::upload;

/// What the handler needs from the request before routing.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RequestHead {
    /// The method as sent (`GET`, `PUT`, ...).
    pub method: String,
    /// The request target, `/` when the host gives none.
    pub path_with_query: String,
    /// Every `Content-Length` header value.
    pub content_length: Vec<Vec<u8>>,
    /// Every `Content-Type` header value.
    pub content_type: Vec<Vec<u8>>,
    /// Every `Authorization` header value. A credential: never logged,
    /// never echoed (`Debug` redacts it).
    pub authorization: Vec<Vec<u8>>,
}

impl fmt::Debug for RequestHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestHead")
            .field("method", &self.method)
            .field("path_with_query", &self.path_with_query)
            .field("content_length", &self.content_length)
            .field("content_type", &self.content_type)
            .field(
                "authorization",
                &format_args!("<{} value(s) redacted>", self.authorization.len()),
            )
            .finish()
    }
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
    /// `uploader.presign-put`.
    fn presign_put(
        &mut self,
        key: &str,
        expires_in_secs: u32,
        opts: PutOptions,
    ) -> Result<PresignedRequest, WitError>;
}

/// Serves one request; every outcome, success or error, is a [`Reply`].
pub fn handle(services: &mut impl Services, head: &RequestHead) -> Reply {
    serve(services, head).unwrap_or_else(|err| Reply::error(&err))
}

fn serve(services: &mut impl Services, head: &RequestHead) -> Result<Reply, HttpError> {
    let endpoint = resolve(&head.method, &head.path_with_query)?;
    if endpoint.needs_auth() {
        authorize(services, head)?;
    }
    match endpoint.parse()? {
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
        Route::PresignObject {
            key,
            expires,
            content_type,
        } => presign_object(services, &key, expires, content_type),
    }
}

/// Reads a config key; a failing store is a 503 naming the key.
fn read_config(services: &mut impl Services, key: &str) -> Result<Option<String>, HttpError> {
    services.config(key).map_err(|ConfigError(msg)| {
        HttpError::Unavailable(format!("reading config key `{key}` failed: {msg}"))
    })
}

/// Checks the upload token when `upload-token` is configured. A config
/// store that cannot be read fails closed (503).
fn authorize(services: &mut impl Services, head: &RequestHead) -> Result<(), HttpError> {
    let configured = read_config(services, auth::KEY_UPLOAD_TOKEN)?;
    match auth::configured_token(configured.as_deref()) {
        Some(token) => auth::check(token, &head.authorization),
        None => Ok(()),
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
    let limit = read_config(services, upload::KEY_MAX_UPLOAD)?;
    let limit = upload::max_upload(limit.as_deref())?;
    if let Some(length) = length {
        upload::check_size(length, limit)?;
    }
    let content_type = upload::content_type(&head.content_type)?;
    // Without a Content-Length (chunked) the uploader goes multipart and
    // enforces `max-length` mid-stream, answering `too-large` (413).
    let info = services.put_body(
        key,
        PutOptions {
            content_type,
            content_length: length,
            max_length: Some(limit),
        },
    )?;
    let mut body = json!({ "key": info.key, "size": info.size, "etag": info.etag });
    if let Some(checksum) = info.checksum_sha256 {
        body["checksum_sha256"] = json!(checksum);
    }
    Ok(Reply::json(201, &body).with_header("location", format!("/objects/{raw_key}")))
}

fn presign_object(
    services: &mut impl Services,
    key: &str,
    expires: u32,
    content_type: Option<String>,
) -> Result<Reply, HttpError> {
    let request = services.presign_put(
        key,
        expires,
        PutOptions {
            content_type,
            content_length: None,
            max_length: None,
        },
    )?;
    // A presigned URL is a bearer credential for the object: keep it out
    // of shared caches.
    Ok(Reply::json(200, &presign::to_json(&request)?).with_header("cache-control", "no-store"))
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
        presign_result: Option<Result<PresignedRequest, WitError>>,
        calls: Vec<String>,
    }

    impl Fake {
        fn with_token(token: &str) -> Self {
            let mut fake = Self::default();
            fake.config.insert("upload-token".into(), token.into());
            fake
        }
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
                "put {key} {:?} {:?} {:?}",
                opts.content_type, opts.content_length, opts.max_length
            ));
            match self.put_result.clone() {
                Some(result) => result.map_err(HttpError::from),
                None => Ok(ObjectInfo {
                    key: key.to_owned(),
                    size: opts.content_length.unwrap_or(0),
                    etag: "abc123".into(),
                    checksum_sha256: None,
                }),
            }
        }

        fn presign_put(
            &mut self,
            key: &str,
            expires_in_secs: u32,
            opts: PutOptions,
        ) -> Result<PresignedRequest, WitError> {
            self.calls.push(format!(
                "presign {key} {expires_in_secs} {:?} {:?} {:?}",
                opts.content_type, opts.content_length, opts.max_length
            ));
            self.presign_result.clone().unwrap_or_else(|| {
                Ok(PresignedRequest {
                    url: format!("https://s3.example/uploads/{key}?X-Amz-Signature=f00"),
                    method: "PUT".into(),
                    expires_at: 1_796_000_523,
                    headers: opts
                        .content_type
                        .map(|t| ("content-type".to_owned(), t))
                        .into_iter()
                        .collect(),
                })
            })
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

    fn with_auth(mut head: RequestHead, value: &str) -> RequestHead {
        head.authorization = vec![value.as_bytes().to_vec()];
        head
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
                "config upload-token",
                "config max-upload-bytes",
                "put dir/my file.txt Some(\"text/plain\") Some(11) Some(5368709120)"
            ]
        );
    }

    #[test]
    fn put_reports_the_checksum_when_the_uploader_has_one() {
        let mut fake = Fake {
            put_result: Some(Ok(ObjectInfo {
                key: "a".into(),
                size: 3,
                etag: "e".into(),
                checksum_sha256: Some("ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=-2".into()),
            })),
            ..Fake::default()
        };
        let reply = handle(&mut fake, &put("/objects/a", Some("3")));
        assert_eq!(reply.status, 201);
        assert_eq!(
            json_body(&reply),
            json!({
                "key": "a",
                "size": 3,
                "etag": "e",
                "checksum_sha256": "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=-2"
            })
        );
    }

    #[test]
    fn put_without_length_streams_with_the_limit() {
        let mut fake = Fake::default();
        fake.config.insert("max-upload-bytes".into(), "100".into());
        let reply = handle(&mut fake, &put("/objects/a", None));
        assert_eq!(reply.status, 201);
        assert_eq!(
            fake.calls,
            [
                "config upload-token",
                "config max-upload-bytes",
                "put a None None Some(100)"
            ]
        );
    }

    #[test]
    fn chunked_put_over_the_limit_mid_stream_is_413_with_limit() {
        let mut fake = Fake {
            put_result: Some(Err(WitError::TooLarge(100))),
            ..Fake::default()
        };
        fake.config.insert("max-upload-bytes".into(), "100".into());
        let reply = handle(&mut fake, &put("/objects/a", None));
        assert_eq!(reply.status, 413);
        let body = json_body(&reply);
        assert_eq!(body["error"]["code"], "too_large");
        assert_eq!(body["error"]["limit"], 100);
        assert_eq!(fake.calls.last().unwrap(), "put a None None Some(100)");
    }

    #[test]
    fn post_on_an_object_is_405() {
        let mut fake = Fake::default();
        let reply = handle(&mut fake, &request("POST", "/objects/a"));
        assert_eq!(reply.status, 405);
        assert_eq!(reply.header("allow"), Some(&b"PUT"[..]));
        let reply = handle(&mut fake, &request("GET", "/objects/a/presign"));
        assert_eq!(reply.status, 405);
        assert_eq!(reply.header("allow"), Some(&b"POST, PUT"[..]));
        assert!(fake.calls.is_empty());
    }

    #[test]
    fn put_with_bad_length_is_400() {
        let mut fake = Fake::default();
        let reply = handle(&mut fake, &put("/objects/a", Some("ten")));
        assert_eq!(reply.status, 400);
        assert_eq!(error_code(&reply), "invalid_input");
        assert_eq!(fake.calls, ["config upload-token"]);
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
        assert_eq!(
            fake.calls,
            ["config upload-token", "config max-upload-bytes"]
        );
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
    fn undecodable_key_is_400_before_the_uploader() {
        let mut fake = Fake::default();
        let reply = handle(&mut fake, &put("/objects/a%zz", Some("1")));
        assert_eq!(reply.status, 400);
        assert_eq!(fake.calls, ["config upload-token"]);
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

    #[test]
    fn presign() {
        let mut fake = Fake::default();
        let reply = handle(
            &mut fake,
            &request(
                "POST",
                "/objects/dir/my%20photo.png/presign?expires=60&content_type=image%2Fpng",
            ),
        );
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("cache-control"), Some(&b"no-store"[..]));
        assert_eq!(
            json_body(&reply),
            json!({
                "url": "https://s3.example/uploads/dir/my photo.png?X-Amz-Signature=f00",
                "method": "PUT",
                "expires_at": "2026-11-30T01:02:03Z",
                "expires_at_unix": 1_796_000_523_u64,
                "headers": {"content-type": "image/png"}
            })
        );
        assert_eq!(
            fake.calls,
            [
                "config upload-token",
                "presign dir/my photo.png 60 Some(\"image/png\") None None"
            ]
        );
    }

    #[test]
    fn presign_defaults() {
        let mut fake = Fake::default();
        let reply = handle(&mut fake, &request("POST", "/objects/a/presign"));
        assert_eq!(reply.status, 200);
        assert_eq!(json_body(&reply)["headers"], json!({}));
        assert_eq!(fake.calls.last().unwrap(), "presign a 900 None None None");
    }

    #[test]
    fn presign_of_a_key_ending_in_presign() {
        let mut fake = Fake::default();
        let reply = handle(&mut fake, &request("POST", "/objects/a/presign/presign"));
        assert_eq!(reply.status, 200);
        assert_eq!(
            fake.calls.last().unwrap(),
            "presign a/presign 900 None None None"
        );
        // ... while PUT uploads the object literally named so.
        let reply = handle(&mut fake, &put("/objects/a/presign", Some("1")));
        assert_eq!(reply.status, 201);
        assert_eq!(json_body(&reply)["key"], "a/presign");
    }

    #[test]
    fn bad_presign_options_are_400_before_the_uploader() {
        for target in [
            "/objects/a/presign?expires=0",
            "/objects/a/presign?expires=604801",
            "/objects/a/presign?expires=soon",
            "/objects/a/presign?content_type=%0A",
            "/objects/a%zz/presign",
        ] {
            let mut fake = Fake::default();
            let reply = handle(&mut fake, &request("POST", target));
            assert_eq!(reply.status, 400, "{target}");
            assert_eq!(error_code(&reply), "invalid_input");
            assert_eq!(fake.calls, ["config upload-token"], "{target}");
        }
    }

    #[test]
    fn presign_errors_map_to_statuses() {
        let mut fake = Fake {
            presign_result: Some(Err(WitError::InvalidInput("object key is empty".into()))),
            ..Fake::default()
        };
        let reply = handle(&mut fake, &request("POST", "/objects//presign"));
        assert_eq!(reply.status, 400);
        assert_eq!(fake.calls.last().unwrap(), "presign  900 None None None");
        fake.presign_result = Some(Err(WitError::Internal("s3-bucket is not set".into())));
        let reply = handle(&mut fake, &request("POST", "/objects/a/presign"));
        assert_eq!(reply.status, 500);
    }

    const TOKEN: &str = "s3cret-Token.42";

    fn assert_unauthorized(reply: &Reply) {
        assert_eq!(reply.status, 401);
        assert_eq!(reply.header("www-authenticate"), Some(&b"Bearer"[..]));
        assert_eq!(error_code(reply), "unauthorized");
        let text = String::from_utf8_lossy(&reply.body);
        assert!(!text.contains(TOKEN), "{text}");
        assert!(!text.contains("wrong"), "{text}");
        for (_, value) in &reply.headers {
            assert!(!String::from_utf8_lossy(value).contains(TOKEN));
        }
    }

    #[test]
    fn with_a_token_uploads_and_presigning_need_it() {
        let targets = [
            put("/objects/a", Some("1")),
            put("/objects/a", None),
            request("POST", "/objects/a/presign"),
        ];
        for head in targets {
            for auth in [
                None,
                Some("Bearer wrong"),
                Some("Bearer s3cret-Token.4"),
                Some("Bearer s3cret-Token.42x"),
                Some("Basic czNjcmV0LVRva2VuLjQy"),
                Some("Bearer  s3cret-Token.42"),
                Some(TOKEN),
            ] {
                let mut fake = Fake::with_token(TOKEN);
                let head = match auth {
                    Some(auth) => with_auth(head.clone(), auth),
                    None => head.clone(),
                };
                let reply = handle(&mut fake, &head);
                assert_unauthorized(&reply);
                assert_eq!(fake.calls, ["config upload-token"], "{head:?}");
            }
            for auth in ["Bearer s3cret-Token.42", "bearer s3cret-Token.42"] {
                let mut fake = Fake::with_token(TOKEN);
                let reply = handle(&mut fake, &with_auth(head.clone(), auth));
                assert!(reply.status == 200 || reply.status == 201, "{head:?}");
                assert!(
                    !String::from_utf8_lossy(&reply.body).contains(TOKEN),
                    "{head:?}"
                );
            }
        }
    }

    #[test]
    fn auth_comes_before_the_limit_and_the_key() {
        let mut fake = Fake::with_token(TOKEN);
        fake.config.insert("max-upload-bytes".into(), "10".into());
        // Too large, undecodable or badly optioned: still only a 401.
        for head in [
            put("/objects/a", Some("11")),
            put("/objects/a", Some("ten")),
            put("/objects/%zz", Some("1")),
            request("POST", "/objects/a/presign?expires=0"),
        ] {
            let reply = handle(&mut fake, &head);
            assert_unauthorized(&reply);
        }
        assert!(fake.calls.iter().all(|c| c == "config upload-token"));
        // Authenticated, the limit applies as usual.
        let reply = handle(
            &mut fake,
            &with_auth(put("/objects/a", Some("11")), "Bearer s3cret-Token.42"),
        );
        assert_eq!(reply.status, 413);
    }

    #[test]
    fn routing_errors_come_before_auth() {
        let mut fake = Fake::with_token(TOKEN);
        assert_eq!(handle(&mut fake, &request("GET", "/objects/a")).status, 405);
        assert_eq!(handle(&mut fake, &request("PUT", "/object/a")).status, 404);
        assert!(fake.calls.is_empty());
    }

    #[test]
    fn counters_stay_open_with_a_token() {
        let mut fake = Fake::with_token(TOKEN);
        assert_eq!(handle(&mut fake, &request("GET", "/")).status, 200);
        assert_eq!(
            handle(&mut fake, &request("GET", "/counters/a")).status,
            200
        );
        assert_eq!(
            handle(&mut fake, &request("POST", "/counters/a?by=2")).status,
            200
        );
        assert!(!fake.calls.iter().any(|c| c.starts_with("config")));
    }

    #[test]
    fn a_blank_token_is_no_token() {
        for token in ["", "  \n"] {
            let mut fake = Fake::with_token(token);
            let reply = handle(&mut fake, &put("/objects/a", Some("1")));
            assert_eq!(reply.status, 201, "{token:?}");
        }
    }

    #[test]
    fn config_store_down_fails_closed() {
        let mut fake = Fake {
            config_down: true,
            ..Fake::default()
        };
        let reply = handle(&mut fake, &request("POST", "/objects/a/presign"));
        assert_eq!(reply.status, 503);
        assert!(
            json_body(&reply)["error"]["message"]
                .as_str()
                .unwrap()
                .contains("upload-token")
        );
        assert_eq!(fake.calls, ["config upload-token"]);
    }

    #[test]
    fn debug_of_the_head_redacts_the_authorization() {
        let head = with_auth(put("/objects/a", None), "Bearer s3cret-Token.42");
        let debug = format!("{head:?}");
        assert!(!debug.contains(TOKEN), "{debug}");
        assert!(debug.contains("redacted"), "{debug}");
    }
}
