//! The request handler as plain logic over a [`Services`] trait, so that
//! every route runs in host tests against fakes.
//!
//! The order of checks on writes is deliberate: route (404, 405), then who
//! may write (401, 403, see [`auth`]), then the path and query (400), then
//! the length and limit (400, 413), and only then the counter or uploader.
//! An unauthenticated client learns nothing about keys or limits, and no
//! byte of a refused body goes upstream.

use std::fmt;

use serde_json::json;

use crate::auth::{self, Write};
use crate::bindings::edgeplug::worker::types::Error as WitError;
use crate::bindings::edgeplug::worker::uploader::{
    ObjectInfo, PostPolicyOptions, PresignedPost, PresignedRequest, PutOptions,
};
use crate::counters;
use crate::errors::{HttpError, log_upstream};
use crate::presign::{self, PostPolicyQuery};
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
    /// Hands the request body to `uploader.put`. Called at most once, and
    /// only after every check on the request head passed.
    fn put_body(&mut self, key: &str, opts: PutOptions) -> Result<ObjectInfo, WitError>;
    /// `uploader.presign-put`.
    fn presign_put(
        &mut self,
        key: &str,
        expires_in_secs: u32,
        opts: PutOptions,
    ) -> Result<PresignedRequest, WitError>;
    /// `uploader.presign-post`.
    fn presign_post(
        &mut self,
        opts: PostPolicyOptions,
        expires_in_secs: u32,
    ) -> Result<PresignedPost, WitError>;
}

/// Serves one request; every outcome, success or error, is a [`Reply`].
pub fn handle(services: &mut impl Services, head: &RequestHead) -> Reply {
    serve(services, head).unwrap_or_else(|err| Reply::error(&err))
}

fn serve(services: &mut impl Services, head: &RequestHead) -> Result<Reply, HttpError> {
    let endpoint = resolve(&head.method, &head.path_with_query)?;
    if let Some(write) = endpoint.write() {
        authorize(services, head, write)?;
    }
    match endpoint.parse()? {
        Route::PageViews => {
            let views = match services.increment("page_views", 1) {
                Ok(views) => views,
                // Saturated: the page still answers, showing the maximum,
                // rather than breaking for every visitor.
                Err(WitError::TooLarge(views)) => views,
                Err(err) => return Err(err.into()),
            };
            // No trailing newline: the FastEdge example's exact output.
            Ok(Reply::text(200, format!("Page views: {views}")))
        }
        Route::GetCounter { name } => {
            let value = services.get(&name)?;
            Ok(Reply::json(200, &json!({ "name": name, "value": value })))
        }
        Route::IncrementCounter { name, by } => increment_counter(services, name, by),
        Route::PutObject { key, raw_key } => put_object(services, head, &key, &raw_key),
        Route::PresignObject {
            key,
            expires,
            content_type,
            content_length,
        } => presign_object(services, &key, expires, content_type, content_length),
        Route::PresignPost { key, query } => presign_post(services, key, query),
    }
}

/// Reads a config key; a failing store is a 503 naming the key.
fn read_config(services: &mut impl Services, key: &str) -> Result<Option<String>, HttpError> {
    services.config(key).map_err(|ConfigError(msg)| {
        HttpError::Unavailable(format!("reading config key `{key}` failed: {msg}"))
    })
}

/// Decides whether this write may go ahead (see [`auth`]): the write's
/// opt-in first, then the token. A config store that cannot be read fails
/// closed (503).
fn authorize(
    services: &mut impl Services,
    head: &RequestHead,
    write: Write,
) -> Result<(), HttpError> {
    let key = write.opt_in_key();
    let opted_in = auth::opt_in(key, read_config(services, key)?.as_deref())?;
    let configured = if opted_in {
        None
    } else {
        read_config(services, auth::KEY_UPLOAD_TOKEN)?
    };
    auth::authorize_write(
        write,
        opted_in,
        auth::configured_token(configured.as_deref()),
        &head.authorization,
    )
}

/// Reads `max-upload-bytes`.
fn upload_limit(services: &mut impl Services) -> Result<u64, HttpError> {
    let limit = read_config(services, upload::KEY_MAX_UPLOAD)?;
    upload::max_upload(limit.as_deref())
}

fn increment_counter(
    services: &mut impl Services,
    name: String,
    by: u64,
) -> Result<Reply, HttpError> {
    let max = read_config(services, counters::KEY_MAX_INCREMENT)?;
    counters::check_by(by, counters::max_increment(max.as_deref())?)?;
    match services.increment(&name, by) {
        Ok(value) => Ok(Reply::json(200, &json!({ "name": name, "value": value }))),
        // The counter's signal for "would pass the store's maximum".
        Err(WitError::TooLarge(value)) => Err(HttpError::CounterAtMaximum { name, value, by }),
        Err(err) => Err(err.into()),
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
    let limit = upload_limit(services)?;
    if let Some(length) = length {
        upload::check_size(length, limit)?;
    }
    let content_type = upload::content_type(&head.content_type)?;
    // Without a Content-Length (chunked) the uploader goes multipart and
    // enforces `max-length` mid-stream, answering `too-large` (413).
    let info = services
        .put_body(
            key,
            PutOptions {
                content_type,
                content_length: length,
                max_length: Some(limit),
            },
        )
        .map_err(put_error)?;
    let mut body = json!({ "key": info.key, "size": info.size, "etag": info.etag });
    if let Some(checksum) = info.checksum_sha256 {
        body["checksum_sha256"] = json!(checksum);
    }
    Ok(Reply::json(201, &body).with_header("location", format!("/objects/{raw_key}")))
}

/// An upload's error: the store's 412 (`If-None-Match: *` met an existing
/// object, with the uploader's `s3-refuse-overwrite`) is the client's 409.
fn put_error(err: WitError) -> HttpError {
    match err {
        WitError::Upstream(up) if up.status == 412 => {
            // Logged like every upstream refusal; the client gets our words.
            log_upstream(&up);
            HttpError::ObjectExists(
                "an object with this key already exists, and this server does not overwrite \
                 objects"
                    .into(),
            )
        }
        err => err.into(),
    }
}

fn presign_object(
    services: &mut impl Services,
    key: &str,
    expires: u32,
    content_type: String,
    content_length: u64,
) -> Result<Reply, HttpError> {
    let limit = upload_limit(services)?;
    presign::check_limit("content_length", content_length, limit)?;
    let request = services.presign_put(
        key,
        expires,
        PutOptions {
            content_type: Some(content_type),
            content_length: Some(content_length),
            max_length: Some(limit),
        },
    )?;
    // A presigned URL is a bearer credential for the object: keep it out
    // of shared caches.
    Ok(Reply::json(200, &presign::to_json(&request)?).with_header("cache-control", "no-store"))
}

fn presign_post(
    services: &mut impl Services,
    key: String,
    query: PostPolicyQuery,
) -> Result<Reply, HttpError> {
    let limit = upload_limit(services)?;
    presign::check_limit("max_length", query.max_length, limit)?;
    let post = services.presign_post(
        PostPolicyOptions {
            key,
            key_is_prefix: query.prefix,
            content_type: query.content_type,
            min_length: query.min_length,
            max_length: query.max_length,
        },
        query.expires,
    )?;
    // A policy is a bearer credential too.
    Ok(Reply::json(200, &presign::post_to_json(&post)?).with_header("cache-control", "no-store"))
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
        post_result: Option<Result<PresignedPost, WitError>>,
        calls: Vec<String>,
    }

    impl Fake {
        /// A server with `upload-token` set.
        fn with_token(token: &str) -> Self {
            let mut fake = Self::default();
            fake.config.insert("upload-token".into(), token.into());
            fake
        }

        /// A server whose operator opened both kinds of write to anyone.
        fn open() -> Self {
            let mut fake = Self::default();
            fake.config
                .insert("allow-anonymous-uploads".into(), "true".into());
            fake.config
                .insert("allow-anonymous-counter-writes".into(), "true".into());
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

        fn put_body(&mut self, key: &str, opts: PutOptions) -> Result<ObjectInfo, WitError> {
            self.calls.push(format!(
                "put {key} {:?} {:?} {:?}",
                opts.content_type, opts.content_length, opts.max_length
            ));
            match self.put_result.clone() {
                Some(result) => result,
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
                let mut headers = Vec::new();
                if let Some(t) = opts.content_type {
                    headers.push(("content-type".to_owned(), t));
                }
                if let Some(l) = opts.content_length {
                    headers.push(("content-length".to_owned(), l.to_string()));
                }
                Ok(PresignedRequest {
                    url: format!("https://s3.example/uploads/{key}?X-Amz-Signature=f00"),
                    method: "PUT".into(),
                    expires_at: 1_796_000_523,
                    headers,
                })
            })
        }

        fn presign_post(
            &mut self,
            opts: PostPolicyOptions,
            expires_in_secs: u32,
        ) -> Result<PresignedPost, WitError> {
            self.calls.push(format!(
                "presign-post {} prefix={} {} {}..={} {expires_in_secs}",
                opts.key, opts.key_is_prefix, opts.content_type, opts.min_length, opts.max_length
            ));
            self.post_result.clone().unwrap_or_else(|| {
                let key = if opts.key_is_prefix {
                    format!("{}${{filename}}", opts.key)
                } else {
                    opts.key.clone()
                };
                Ok(PresignedPost {
                    url: "https://s3.example/uploads".into(),
                    fields: vec![
                        ("key".into(), key),
                        ("content-type".into(), opts.content_type),
                        ("policy".into(), "eyJ9".into()),
                        ("x-amz-signature".into(), "f00".into()),
                    ],
                    expires_at: 1_796_000_523,
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

    fn error_message(reply: &Reply) -> String {
        json_body(reply)["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    const PRESIGN: &str = "/objects/a/presign?content_type=text%2Fplain&content_length=5";
    const POST_POLICY: &str = "/objects/a/presign-post?content_type=image%2Fpng&max_length=100";

    /// Every write route, as a request that succeeds when allowed.
    fn writes() -> Vec<(Write, RequestHead)> {
        vec![
            (Write::Uploads, put("/objects/a", Some("1"))),
            (Write::Uploads, put("/objects/a", None)),
            (Write::Uploads, request("POST", PRESIGN)),
            (Write::Uploads, request("POST", POST_POLICY)),
            (Write::CounterWrites, request("POST", "/counters/a?by=2")),
        ]
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
    fn page_views_at_the_maximum_still_answer_200_with_the_count() {
        let mut fake = Fake {
            counter_error: Some(WitError::TooLarge(9_223_372_036_854_775_807)),
            ..Fake::default()
        };
        let reply = handle(&mut fake, &request("GET", "/"));
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body, b"Page views: 9223372036854775807");
    }

    #[test]
    fn get_counter() {
        let mut fake = Fake::default();
        fake.counters.insert("hits".into(), 7);
        let reply = handle(&mut fake, &request("GET", "/counters/hits"));
        assert_eq!(reply.status, 200);
        assert_eq!(json_body(&reply), json!({"name": "hits", "value": 7}));
        // Reads stay open: no config is consulted.
        assert_eq!(fake.calls, ["get hits"]);
    }

    #[test]
    fn increment_counter() {
        let mut fake = Fake::open();
        let reply = handle(&mut fake, &request("POST", "/counters/hits?by=5"));
        assert_eq!(reply.status, 200);
        assert_eq!(json_body(&reply), json!({"name": "hits", "value": 5}));
        let reply = handle(&mut fake, &request("POST", "/counters/hits"));
        assert_eq!(json_body(&reply), json!({"name": "hits", "value": 6}));
        assert_eq!(
            fake.calls[..3],
            [
                "config allow-anonymous-counter-writes",
                "config max-increment",
                "increment hits 5"
            ]
        );
    }

    #[test]
    fn by_over_max_increment_or_zero_is_400_before_the_counter() {
        for (max, by, status) in [
            (None, "100", 200),
            (None, "101", 400),
            (None, "18446744073709551615", 400),
            (None, "0", 400),
            (Some("5"), "5", 200),
            (Some("5"), "6", 400),
        ] {
            let mut fake = Fake::open();
            if let Some(max) = max {
                fake.config.insert("max-increment".into(), max.into());
            }
            let reply = handle(&mut fake, &request("POST", &format!("/counters/a?by={by}")));
            assert_eq!(reply.status, status, "max {max:?}, by {by}");
            if status == 400 {
                assert_eq!(error_code(&reply), "invalid_input");
                assert!(error_message(&reply).contains("max-increment"));
                assert!(!fake.calls.iter().any(|c| c.starts_with("increment")));
            }
        }
    }

    #[test]
    fn a_bad_max_increment_is_500_naming_the_key() {
        let mut fake = Fake::open();
        fake.config.insert("max-increment".into(), "lots".into());
        let reply = handle(&mut fake, &request("POST", "/counters/a"));
        assert_eq!(reply.status, 500);
        assert!(error_message(&reply).contains("`max-increment`"));
    }

    #[test]
    fn an_increment_at_the_maximum_is_409_with_the_value() {
        let mut fake = Fake {
            counter_error: Some(WitError::TooLarge(42)),
            ..Fake::open()
        };
        let reply = handle(&mut fake, &request("POST", "/counters/hits?by=3"));
        assert_eq!(reply.status, 409);
        let body = json_body(&reply);
        assert_eq!(body["error"]["code"], "counter_at_maximum");
        assert_eq!(body["error"]["value"], 42);
        assert!(error_message(&reply).contains("hits"));
    }

    #[test]
    fn namespaced_counters_are_out_of_reach_of_the_public_route() {
        for target in [
            "/counters/rl:1:203.0.113.7",
            "/counters/rl%3A1%3Avictim",
            "/counters/a:b",
        ] {
            for method in ["GET", "POST"] {
                let mut fake = Fake::open();
                let reply = handle(&mut fake, &request(method, target));
                assert_eq!(reply.status, 400, "{method} {target}");
                assert!(error_message(&reply).contains("`:`"), "{method} {target}");
                assert!(
                    !fake.calls.iter().any(|c| !c.starts_with("config")),
                    "{method} {target}: {:?}",
                    fake.calls
                );
            }
        }
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
        let mut fake = Fake::open();
        let reply = handle(&mut fake, &request("POST", "/counters/x?by=-3"));
        assert_eq!(reply.status, 400);
        assert!(error_message(&reply).contains("`by`"));
        assert_eq!(fake.calls, ["config allow-anonymous-counter-writes"]);
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
    fn writes_are_closed_by_default_naming_the_settings() {
        for (write, head) in writes() {
            let mut fake = Fake::default();
            let reply = handle(&mut fake, &head);
            assert_eq!(reply.status, 403, "{head:?}");
            let body = json_body(&reply);
            assert_eq!(body["error"]["code"], "writes_not_configured", "{head:?}");
            assert_eq!(body["error"]["setting"], write.opt_in_key());
            let message = error_message(&reply);
            assert!(message.contains("`upload-token`"), "{message}");
            assert!(
                message.contains(&format!("`{} = true`", write.opt_in_key())),
                "{message}"
            );
            // Only the two settings were read; nothing was written.
            assert_eq!(
                fake.calls,
                [
                    format!("config {}", write.opt_in_key()),
                    "config upload-token".to_owned()
                ],
                "{head:?}"
            );
        }
    }

    #[test]
    fn each_opt_in_opens_only_its_own_writes() {
        for (write, head) in writes() {
            for (opt_in, opens) in [
                ("allow-anonymous-uploads", write == Write::Uploads),
                (
                    "allow-anonymous-counter-writes",
                    write == Write::CounterWrites,
                ),
            ] {
                let mut fake = Fake::default();
                fake.config.insert(opt_in.into(), "true".into());
                let reply = handle(&mut fake, &head);
                let allowed = reply.status == 200 || reply.status == 201;
                assert_eq!(allowed, opens, "{opt_in}: {head:?}: {}", reply.status);
                if !opens {
                    assert_eq!(reply.status, 403);
                }
            }
        }
    }

    #[test]
    fn an_opt_in_set_to_false_keeps_writes_closed() {
        let mut fake = Fake::default();
        fake.config
            .insert("allow-anonymous-uploads".into(), "false".into());
        let reply = handle(&mut fake, &put("/objects/a", Some("1")));
        assert_eq!(reply.status, 403);
    }

    #[test]
    fn a_malformed_opt_in_is_500_naming_it_never_open() {
        for value in ["yes", "1", "TRUE", "on"] {
            for (write, head) in writes() {
                let mut fake = Fake::with_token(TOKEN);
                fake.config.insert(write.opt_in_key().into(), value.into());
                let reply = handle(&mut fake, &head);
                assert_eq!(reply.status, 500, "{value}: {head:?}");
                assert!(
                    error_message(&reply).contains(&format!("`{}`", write.opt_in_key())),
                    "{value}"
                );
                assert!(!fake.calls.iter().any(|c| !c.starts_with("config")));
            }
        }
    }

    #[test]
    fn put_object() {
        let mut fake = Fake::open();
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
                "config allow-anonymous-uploads",
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
            ..Fake::open()
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
        let mut fake = Fake::open();
        fake.config.insert("max-upload-bytes".into(), "100".into());
        let reply = handle(&mut fake, &put("/objects/a", None));
        assert_eq!(reply.status, 201);
        assert_eq!(fake.calls.last().unwrap(), "put a None None Some(100)");
    }

    #[test]
    fn chunked_put_over_the_limit_mid_stream_is_413_with_limit() {
        let mut fake = Fake {
            put_result: Some(Err(WitError::TooLarge(100))),
            ..Fake::open()
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
        for target in ["/objects/a/presign", "/objects/a/presign-post"] {
            let reply = handle(&mut fake, &request("GET", target));
            assert_eq!(reply.status, 405);
            assert_eq!(reply.header("allow"), Some(&b"POST, PUT"[..]));
        }
        assert!(fake.calls.is_empty());
    }

    #[test]
    fn put_with_bad_length_is_400() {
        let mut fake = Fake::open();
        let reply = handle(&mut fake, &put("/objects/a", Some("ten")));
        assert_eq!(reply.status, 400);
        assert_eq!(error_code(&reply), "invalid_input");
        assert_eq!(fake.calls, ["config allow-anonymous-uploads"]);
    }

    #[test]
    fn put_over_the_limit_is_413_with_limit() {
        let mut fake = Fake::open();
        fake.config.insert("max-upload-bytes".into(), "100".into());
        let reply = handle(&mut fake, &put("/objects/a", Some("101")));
        assert_eq!(reply.status, 413);
        let body = json_body(&reply);
        assert_eq!(body["error"]["code"], "too_large");
        assert_eq!(body["error"]["limit"], 100);
        assert!(error_message(&reply).contains("100"));
        assert_eq!(
            fake.calls,
            ["config allow-anonymous-uploads", "config max-upload-bytes"]
        );
    }

    #[test]
    fn put_over_the_default_limit() {
        let mut fake = Fake::open();
        let reply = handle(&mut fake, &put("/objects/a", Some("5368709121")));
        assert_eq!(reply.status, 413);
        assert_eq!(json_body(&reply)["error"]["limit"], 5_368_709_120_u64);
        let reply = handle(&mut fake, &put("/objects/a", Some("5368709120")));
        assert_eq!(reply.status, 201);
    }

    #[test]
    fn bad_limit_config_is_500() {
        let mut fake = Fake::open();
        fake.config.insert("max-upload-bytes".into(), "lots".into());
        let reply = handle(&mut fake, &put("/objects/a", Some("1")));
        assert_eq!(reply.status, 500);
        assert!(error_message(&reply).contains("max-upload-bytes"));
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
        let mut fake = Fake::open();
        let reply = handle(&mut fake, &put("/objects/a%zz", Some("1")));
        assert_eq!(reply.status, 400);
        assert_eq!(fake.calls, ["config allow-anonymous-uploads"]);
    }

    #[test]
    fn disguising_keys_are_400_on_every_object_route() {
        for key in [
            "a%E2%80%AEgpj.exe",
            "a%E2%80%8Bb",
            "a%E2%80%A8b",
            "%EF%BB%BFa",
        ] {
            for head in [
                put(&format!("/objects/{key}"), Some("1")),
                request(
                    "POST",
                    &format!("/objects/{key}/presign?content_type=a%2Fb&content_length=1"),
                ),
                request(
                    "POST",
                    &format!("/objects/{key}/presign-post?content_type=a%2Fb&max_length=1"),
                ),
            ] {
                let mut fake = Fake::open();
                let reply = handle(&mut fake, &head);
                assert_eq!(reply.status, 400, "{head:?}");
                assert!(error_message(&reply).contains("U+"), "{head:?}");
                assert_eq!(fake.calls, ["config allow-anonymous-uploads"], "{head:?}");
            }
        }
    }

    #[test]
    fn empty_key_reaches_the_uploader() {
        let mut fake = Fake {
            put_result: Some(Err(WitError::InvalidInput("object key is empty".into()))),
            ..Fake::open()
        };
        let reply = handle(&mut fake, &put("/objects/", Some("0")));
        assert_eq!(reply.status, 400);
        assert_eq!(
            json_body(&reply),
            json!({"error": {"code": "invalid_input", "message": "object key is empty"}})
        );
    }

    #[test]
    fn uploader_errors_map_to_statuses_without_the_upstream_message() {
        let upstream = WitError::Upstream(UpstreamError {
            status: 403,
            code: "AccessDenied".into(),
            message: "User: arn:aws:iam::123456789012:user/up is not authorized".into(),
        });
        let mut fake = Fake {
            put_result: Some(Err(upstream)),
            ..Fake::open()
        };
        let reply = handle(&mut fake, &put("/objects/a", Some("1")));
        assert_eq!(reply.status, 502);
        assert_eq!(
            json_body(&reply),
            json!({"error": {
                "code": "upstream",
                "message": "the storage backend refused the request: 403 AccessDenied",
                "upstream": {"status": 403, "code": "AccessDenied"}
            }})
        );
        assert!(!String::from_utf8_lossy(&reply.body).contains("arn:"));
        fake.put_result = Some(Err(WitError::TooLarge(10)));
        let reply = handle(&mut fake, &put("/objects/a", Some("1")));
        assert_eq!(reply.status, 413);
        assert_eq!(json_body(&reply)["error"]["limit"], 10);
    }

    #[test]
    fn a_taken_key_is_409_object_exists() {
        let mut fake = Fake {
            put_result: Some(Err(WitError::Upstream(UpstreamError {
                status: 412,
                code: "PreconditionFailed".into(),
                message: "At least one of the pre-conditions you specified did not hold".into(),
            }))),
            ..Fake::open()
        };
        let reply = handle(&mut fake, &put("/objects/a", Some("1")));
        assert_eq!(reply.status, 409);
        assert_eq!(error_code(&reply), "object_exists");
        assert!(!error_message(&reply).contains("pre-conditions"));
    }

    #[test]
    fn presign() {
        let mut fake = Fake::open();
        let reply = handle(
            &mut fake,
            &request(
                "POST",
                "/objects/dir/my%20photo.png/presign?expires=60&content_type=image%2Fpng\
                 &content_length=1000",
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
                "headers": {"content-type": "image/png", "content-length": "1000"}
            })
        );
        assert_eq!(
            fake.calls,
            [
                "config allow-anonymous-uploads",
                "config max-upload-bytes",
                "presign dir/my photo.png 60 Some(\"image/png\") Some(1000) Some(5368709120)"
            ]
        );
    }

    #[test]
    fn presign_decodes_plus_as_a_space() {
        let mut fake = Fake::open();
        let reply = handle(
            &mut fake,
            &request(
                "POST",
                "/objects/a/presign?content_type=text%2Fplain%3B+charset%3Dutf-8&content_length=1",
            ),
        );
        assert_eq!(reply.status, 200);
        assert_eq!(
            json_body(&reply)["headers"]["content-type"],
            "text/plain; charset=utf-8"
        );
    }

    #[test]
    fn presign_needs_content_type_and_content_length() {
        for (target, missing) in [
            ("/objects/a/presign", "`content_type`"),
            ("/objects/a/presign?content_length=5", "`content_type`"),
            ("/objects/a/presign?content_type=a%2Fb", "`content_length`"),
        ] {
            let mut fake = Fake::open();
            let reply = handle(&mut fake, &request("POST", target));
            assert_eq!(reply.status, 400, "{target}");
            let message = error_message(&reply);
            assert!(message.contains(missing), "{target}: {message}");
            assert!(message.contains("required"), "{target}: {message}");
            assert_eq!(fake.calls, ["config allow-anonymous-uploads"]);
        }
    }

    #[test]
    fn presign_over_the_upload_limit_is_413() {
        let mut fake = Fake::open();
        fake.config.insert("max-upload-bytes".into(), "100".into());
        let target = "/objects/a/presign?content_type=a%2Fb&content_length=101";
        let reply = handle(&mut fake, &request("POST", target));
        assert_eq!(reply.status, 413);
        assert_eq!(json_body(&reply)["error"]["limit"], 100);
        assert!(error_message(&reply).contains("`content_length`"));
        assert!(!fake.calls.iter().any(|c| c.starts_with("presign")));
        let target = "/objects/a/presign?content_type=a%2Fb&content_length=100";
        assert_eq!(handle(&mut fake, &request("POST", target)).status, 200);
    }

    #[test]
    fn presign_of_a_key_ending_in_presign() {
        let mut fake = Fake::open();
        let reply = handle(
            &mut fake,
            &request(
                "POST",
                "/objects/a/presign/presign?content_type=a%2Fb&content_length=1",
            ),
        );
        assert_eq!(reply.status, 200);
        assert!(fake.calls.last().unwrap().starts_with("presign a/presign "));
        // ... while PUT uploads the object literally named so.
        let reply = handle(&mut fake, &put("/objects/a/presign", Some("1")));
        assert_eq!(reply.status, 201);
        assert_eq!(json_body(&reply)["key"], "a/presign");
        let reply = handle(&mut fake, &put("/objects/a/presign-post", Some("1")));
        assert_eq!(reply.status, 201);
        assert_eq!(json_body(&reply)["key"], "a/presign-post");
    }

    #[test]
    fn bad_presign_options_are_400_before_the_uploader() {
        for target in [
            "/objects/a/presign?expires=0&content_type=a%2Fb&content_length=1",
            "/objects/a/presign?expires=604801&content_type=a%2Fb&content_length=1",
            "/objects/a/presign?expires=soon&content_type=a%2Fb&content_length=1",
            "/objects/a/presign?content_type=%0A&content_length=1",
            "/objects/a/presign?content_type=a%2Fb&content_length=-1",
            "/objects/a%zz/presign?content_type=a%2Fb&content_length=1",
        ] {
            let mut fake = Fake::open();
            let reply = handle(&mut fake, &request("POST", target));
            assert_eq!(reply.status, 400, "{target}");
            assert_eq!(error_code(&reply), "invalid_input");
            assert_eq!(fake.calls, ["config allow-anonymous-uploads"], "{target}");
        }
    }

    #[test]
    fn presign_errors_map_to_statuses() {
        let mut fake = Fake {
            presign_result: Some(Err(WitError::InvalidInput("object key is empty".into()))),
            ..Fake::open()
        };
        let target = "/objects//presign?content_type=a%2Fb&content_length=1";
        let reply = handle(&mut fake, &request("POST", target));
        assert_eq!(reply.status, 400);
        assert!(fake.calls.last().unwrap().starts_with("presign  900 "));
        fake.presign_result = Some(Err(WitError::Internal("s3-bucket is not set".into())));
        let reply = handle(&mut fake, &request("POST", PRESIGN));
        assert_eq!(reply.status, 500);
    }

    #[test]
    fn presign_post_for_an_exact_key() {
        let mut fake = Fake::open();
        let reply = handle(&mut fake, &request("POST", POST_POLICY));
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("cache-control"), Some(&b"no-store"[..]));
        assert_eq!(
            json_body(&reply),
            json!({
                "url": "https://s3.example/uploads",
                "method": "POST",
                "fields": {
                    "key": "a",
                    "content-type": "image/png",
                    "policy": "eyJ9",
                    "x-amz-signature": "f00"
                },
                "expires_at": "2026-11-30T01:02:03Z",
                "expires_at_unix": 1_796_000_523_u64
            })
        );
        assert_eq!(
            fake.calls,
            [
                "config allow-anonymous-uploads",
                "config max-upload-bytes",
                "presign-post a prefix=false image/png 0..=100 900"
            ]
        );
    }

    #[test]
    fn presign_post_for_a_key_prefix() {
        let mut fake = Fake::open();
        let target = "/objects/users/42/presign-post?prefix=true&content_type=image%2Fjpeg\
                      &min_length=1&max_length=2048&expires=300";
        let reply = handle(&mut fake, &request("POST", target));
        assert_eq!(reply.status, 200);
        assert_eq!(json_body(&reply)["fields"]["key"], "users/42${filename}");
        assert_eq!(
            fake.calls.last().unwrap(),
            "presign-post users/42 prefix=true image/jpeg 1..=2048 300"
        );
        // An empty prefix would be the whole bucket.
        let target = "/objects//presign-post?prefix=true&content_type=a%2Fb&max_length=1";
        let reply = handle(&mut fake, &request("POST", target));
        assert_eq!(reply.status, 400);
        assert!(error_message(&reply).contains("prefix"));
    }

    #[test]
    fn presign_post_is_capped_by_the_upload_limit() {
        let mut fake = Fake::open();
        fake.config.insert("max-upload-bytes".into(), "100".into());
        let target = "/objects/a/presign-post?content_type=a%2Fb&max_length=101";
        let reply = handle(&mut fake, &request("POST", target));
        assert_eq!(reply.status, 413);
        assert_eq!(json_body(&reply)["error"]["limit"], 100);
        assert!(error_message(&reply).contains("`max_length`"));
        assert!(!fake.calls.iter().any(|c| c.starts_with("presign")));
    }

    #[test]
    fn presign_post_needs_its_parameters() {
        for (target, missing) in [
            ("/objects/a/presign-post?max_length=1", "`content_type`"),
            ("/objects/a/presign-post?content_type=a%2Fb", "`max_length`"),
        ] {
            let mut fake = Fake::open();
            let reply = handle(&mut fake, &request("POST", target));
            assert_eq!(reply.status, 400, "{target}");
            assert!(error_message(&reply).contains(missing), "{target}");
        }
    }

    #[test]
    fn presign_post_errors_map_to_statuses() {
        let mut fake = Fake {
            post_result: Some(Err(WitError::Unavailable("s3 down".into()))),
            ..Fake::open()
        };
        let reply = handle(&mut fake, &request("POST", POST_POLICY));
        assert_eq!(reply.status, 503);
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
    fn with_a_token_every_write_needs_it() {
        for (write, head) in writes() {
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
                assert_eq!(
                    fake.calls,
                    [
                        format!("config {}", write.opt_in_key()),
                        "config upload-token".to_owned()
                    ],
                    "{head:?}"
                );
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
            request("POST", "/objects/a/presign-post"),
            request("POST", "/counters/rl:1:x?by=99999"),
        ] {
            let reply = handle(&mut fake, &head);
            assert_unauthorized(&reply);
        }
        assert!(fake.calls.iter().all(|c| c.starts_with("config ")));
        assert!(!fake.calls.iter().any(|c| c.contains("max-")));
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
    fn reads_and_page_views_stay_open_with_or_without_a_token() {
        for mut fake in [Fake::with_token(TOKEN), Fake::default()] {
            assert_eq!(handle(&mut fake, &request("GET", "/")).status, 200);
            assert_eq!(
                handle(&mut fake, &request("GET", "/counters/a")).status,
                200
            );
            assert!(!fake.calls.iter().any(|c| c.starts_with("config")));
        }
    }

    #[test]
    fn the_opt_in_wins_over_a_configured_token() {
        // An operator protecting uploads with a token can still open counters.
        let mut fake = Fake::with_token(TOKEN);
        fake.config
            .insert("allow-anonymous-counter-writes".into(), "true".into());
        let reply = handle(&mut fake, &request("POST", "/counters/a"));
        assert_eq!(reply.status, 200);
        assert_unauthorized(&handle(&mut fake, &put("/objects/a", Some("1"))));
    }

    #[test]
    fn a_blank_token_is_no_token_so_writes_stay_closed() {
        for token in ["", "  \n"] {
            let mut fake = Fake::with_token(token);
            let reply = handle(&mut fake, &put("/objects/a", Some("1")));
            assert_eq!(reply.status, 403, "{token:?}");
            assert_eq!(error_code(&reply), "writes_not_configured");
        }
    }

    #[test]
    fn config_store_down_fails_closed() {
        let mut fake = Fake {
            config_down: true,
            ..Fake::default()
        };
        let reply = handle(&mut fake, &request("POST", PRESIGN));
        assert_eq!(reply.status, 503);
        assert!(error_message(&reply).contains("allow-anonymous-uploads"));
        assert_eq!(fake.calls, ["config allow-anonymous-uploads"]);
    }

    #[test]
    fn debug_of_the_head_redacts_the_authorization() {
        let head = with_auth(put("/objects/a", None), "Bearer s3cret-Token.42");
        let debug = format!("{head:?}");
        assert!(!debug.contains(TOKEN), "{debug}");
        assert!(debug.contains("redacted"), "{debug}");
    }
}
