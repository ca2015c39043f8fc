//! The app's routes, over the [`Platform`] trait:
//!
//! - `GET /`: the upload page (counts a view);
//! - `POST /uploads/policy`: a presigned POST policy for one file (counts a
//!   grant), for a client with the upload token;
//! - `GET /stats`: both counts, as JSON.

use serde_json::json;

use crate::auth;
use crate::errors::AppError;
use crate::page::{self, PageView};
use crate::platform::{Platform, PolicyRequest};
use crate::policy::{self, POLICY_EXPIRES_SECS, PolicyAsk};
use crate::reply::Reply;
use crate::settings;

/// The counter of page views.
pub const VIEWS_COUNTER: &str = "upload_page_views";
/// The counter of policies granted. The app never sees the bytes (the
/// browser sends them to the bucket), so it counts what it grants.
pub const GRANTS_COUNTER: &str = "upload_policies_granted";

/// A request, as the app needs it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The method, upper case.
    pub method: &'a str,
    /// The path, without the query.
    pub path: &'a str,
    /// The `Authorization` header, if any.
    pub authorization: Option<&'a str>,
    /// The body (only `POST /uploads/policy` reads it).
    pub body: &'a [u8],
}

/// Answers `request`.
pub fn handle(platform: &impl Platform, request: &Request<'_>) -> Reply {
    let answer = match (request.path, request.method) {
        ("/", "GET" | "HEAD") => page(platform),
        ("/uploads/policy", "POST") => grant_policy(platform, request),
        ("/stats", "GET" | "HEAD") => Ok(stats(platform)),
        ("/", _) | ("/stats", _) => Err(AppError::MethodNotAllowed {
            allow: vec!["GET", "HEAD"],
        }),
        ("/uploads/policy", _) => Err(AppError::MethodNotAllowed {
            allow: vec!["POST"],
        }),
        (path, _) => Err(AppError::NotFound(path.to_owned())),
    };
    answer.unwrap_or_else(|error| {
        if error.status() >= 500 {
            platform.log(&format!(
                "{} {}: {}",
                request.method,
                request.path,
                error.log_line()
            ));
        }
        Reply::error(&error)
    })
}

/// A counter's failure must not take the page down: it is logged, and
/// the page shows `?`.
fn count_or_log(
    platform: &impl Platform,
    result: Result<u64, crate::platform::EdgeplugError>,
    name: &str,
) -> Option<u64> {
    match result {
        Ok(value) => Some(value),
        Err(error) => {
            platform.log(&format!(
                "counter {name}: {}",
                AppError::from(error).log_line()
            ));
            None
        }
    }
}

fn page(platform: &impl Platform) -> Result<Reply, AppError> {
    let max_bytes = settings::max_upload_bytes(platform)?;
    let writers = settings::writers(platform)?;
    let views = count_or_log(platform, platform.increment(VIEWS_COUNTER), VIEWS_COUNTER);
    let granted = count_or_log(platform, platform.count(GRANTS_COUNTER), GRANTS_COUNTER);
    Ok(Reply::html(page::render(&PageView {
        title: settings::title(platform),
        max_bytes,
        token_needed: matches!(writers, settings::Writers::WithToken(_)),
        views,
        granted,
    })))
}

fn grant_policy(platform: &impl Platform, request: &Request<'_>) -> Result<Reply, AppError> {
    auth::authorize(&settings::writers(platform)?, request.authorization)?;
    let ask = PolicyAsk::parse(request.body)?;
    let limit = settings::max_upload_bytes(platform)?;
    if ask.size.is_some_and(|size| size > limit) {
        return Err(AppError::TooLarge { limit });
    }
    let content_type = policy::content_type(&ask.content_type)?;
    let key = policy::object_key(platform.random_bytes(), &ask.filename);
    let presigned = platform.presign_post(&PolicyRequest {
        key: key.clone(),
        content_type: content_type.clone(),
        max_length: limit,
        expires_in_secs: POLICY_EXPIRES_SECS,
    })?;
    count_or_log(platform, platform.increment(GRANTS_COUNTER), GRANTS_COUNTER);
    // The key as stored: the uploader puts its configured prefix in front.
    let stored_key = presigned
        .fields
        .iter()
        .find(|(name, _)| name == "key")
        .map_or(key, |(_, value)| value.clone());
    Ok(Reply::json(
        200,
        &json!({
            "url": presigned.url,
            "fields": presigned.fields,
            "key": stored_key,
            "content_type": content_type,
            "max_bytes": limit,
            "expires_at": presigned.expires_at,
        }),
    ))
}

fn stats(platform: &impl Platform) -> Reply {
    let views = count_or_log(platform, platform.count(VIEWS_COUNTER), VIEWS_COUNTER);
    let granted = count_or_log(platform, platform.count(GRANTS_COUNTER), GRANTS_COUNTER);
    Reply::json(
        200,
        &json!({ "page_views": views, "policies_granted": granted }),
    )
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::HashMap;

    use serde_json::Value;

    use super::*;
    use crate::platform::{EdgeplugError, PresignedPost};

    #[derive(Default)]
    struct Fake {
        env: HashMap<&'static str, &'static str>,
        token: Option<&'static str>,
        counters: RefCell<HashMap<String, u64>>,
        counter_down: bool,
        asked: RefCell<Vec<PolicyRequest>>,
        logged: RefCell<Vec<String>>,
    }

    impl Platform for Fake {
        fn env(&self, name: &str) -> Option<String> {
            self.env.get(name).map(|v| (*v).to_owned())
        }
        fn secret(&self, name: &str) -> Result<Option<String>, String> {
            Ok((name == settings::UPLOAD_TOKEN)
                .then_some(self.token)
                .flatten()
                .map(str::to_owned))
        }
        fn increment(&self, name: &str) -> Result<u64, EdgeplugError> {
            if self.counter_down {
                return Err(EdgeplugError::Unavailable("kv down".into()));
            }
            let mut counters = self.counters.borrow_mut();
            let value = counters.entry(name.to_owned()).or_default();
            *value += 1;
            Ok(*value)
        }
        fn count(&self, name: &str) -> Result<u64, EdgeplugError> {
            if self.counter_down {
                return Err(EdgeplugError::Unavailable("kv down".into()));
            }
            Ok(self
                .counters
                .borrow()
                .get(name)
                .copied()
                .unwrap_or_default())
        }
        fn presign_post(&self, request: &PolicyRequest) -> Result<PresignedPost, EdgeplugError> {
            self.asked.borrow_mut().push(request.clone());
            Ok(PresignedPost {
                url: "http://store/bucket".into(),
                fields: vec![
                    ("key".into(), format!("tenant/{}", request.key)),
                    ("content-type".into(), request.content_type.clone()),
                    ("policy".into(), "e30=".into()),
                ],
                expires_at: 1_900_000_000,
            })
        }
        fn random_bytes(&self) -> [u8; 16] {
            [7; 16]
        }
        fn log(&self, line: &str) {
            self.logged.borrow_mut().push(line.to_owned());
        }
    }

    fn with_token() -> Fake {
        Fake {
            token: Some("t0ken"),
            ..Fake::default()
        }
    }

    fn ask(platform: &Fake, authorization: Option<&str>, body: &str) -> Reply {
        handle(
            platform,
            &Request {
                method: "POST",
                path: "/uploads/policy",
                authorization,
                body: body.as_bytes(),
            },
        )
    }

    fn json(reply: &Reply) -> Value {
        serde_json::from_slice(&reply.body).expect("a JSON body")
    }

    const CAT: &str = r#"{"filename":"cat photo.png","content_type":"image/png"}"#;

    #[test]
    fn a_policy_binds_a_random_key_the_type_and_the_limit() {
        let platform = with_token();
        let reply = ask(&platform, Some("Bearer t0ken"), CAT);
        assert_eq!(
            reply.status,
            200,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        let asked = platform.asked.borrow();
        assert_eq!(
            asked[..],
            [PolicyRequest {
                key: format!("uploads/{}/cat_photo.png", "07".repeat(16)),
                content_type: "image/png".into(),
                max_length: settings::DEFAULT_MAX_UPLOAD_BYTES,
                expires_in_secs: POLICY_EXPIRES_SECS,
            }]
        );
        let body = json(&reply);
        assert_eq!(
            body["key"],
            format!("tenant/uploads/{}/cat_photo.png", "07".repeat(16))
        );
        assert_eq!(body["fields"][0], serde_json::json!(["key", body["key"]]));
        assert_eq!(platform.count(GRANTS_COUNTER), Ok(1));
    }

    #[test]
    fn policies_are_closed_without_a_token_and_refused_with_a_wrong_one() {
        let closed = ask(&Fake::default(), Some("Bearer x"), CAT);
        assert_eq!(closed.status, 403);
        assert_eq!(json(&closed)["error"]["code"], "writes_not_configured");

        let platform = with_token();
        let wrong = ask(&platform, Some("Bearer nope"), CAT);
        assert_eq!(wrong.status, 401);
        assert_eq!(wrong.header("www-authenticate"), Some("Bearer"));
        assert!(platform.asked.borrow().is_empty());
        assert_eq!(platform.count(GRANTS_COUNTER), Ok(0));
    }

    #[test]
    fn the_opt_in_opens_policies_and_a_typo_in_it_opens_nothing() {
        let open = Fake {
            env: HashMap::from([(settings::ALLOW_ANONYMOUS_UPLOADS, "true")]),
            ..Fake::default()
        };
        assert_eq!(ask(&open, None, CAT).status, 200);
        let typo = Fake {
            env: HashMap::from([(settings::ALLOW_ANONYMOUS_UPLOADS, "yes")]),
            ..Fake::default()
        };
        let reply = ask(&typo, None, CAT);
        assert_eq!(reply.status, 500);
        assert_eq!(json(&reply)["error"]["code"], "misconfigured");
    }

    #[test]
    fn a_stated_size_over_the_limit_is_refused_before_any_policy() {
        let platform = Fake {
            env: HashMap::from([(settings::MAX_UPLOAD_BYTES, "1000")]),
            ..with_token()
        };
        let reply = ask(
            &platform,
            Some("Bearer t0ken"),
            r#"{"filename":"big.bin","size":1001}"#,
        );
        assert_eq!(reply.status, 413);
        assert_eq!(json(&reply)["error"]["limit"], 1000);
        assert!(platform.asked.borrow().is_empty());
        let fits = ask(
            &platform,
            Some("Bearer t0ken"),
            r#"{"filename":"ok.bin","size":1000}"#,
        );
        assert_eq!(fits.status, 200);
        assert_eq!(platform.asked.borrow()[0].max_length, 1000);
        assert_eq!(
            platform.asked.borrow()[0].content_type,
            "application/octet-stream"
        );
    }

    #[test]
    fn active_content_gets_no_policy() {
        let reply = ask(
            &with_token(),
            Some("Bearer t0ken"),
            r#"{"filename":"x.html","content_type":"text/html"}"#,
        );
        assert_eq!(reply.status, 415);
        assert_eq!(json(&reply)["error"]["code"], "content_type_not_allowed");
    }

    #[test]
    fn the_page_counts_views_and_survives_a_counter_outage() {
        let platform = Fake {
            env: HashMap::from([(settings::PAGE_TITLE, "Send us files")]),
            ..with_token()
        };
        let get = Request {
            method: "GET",
            path: "/",
            authorization: None,
            body: b"",
        };
        handle(&platform, &get);
        let page = handle(&platform, &get);
        assert_eq!(page.status, 200);
        let html = String::from_utf8_lossy(&page.body);
        assert!(html.contains("<title>Send us files</title>"));
        assert!(html.contains("2 page views · 0 uploads granted"), "{html}");

        let down = Fake {
            counter_down: true,
            ..Fake::default()
        };
        let page = handle(&down, &get);
        assert_eq!(page.status, 200);
        assert!(String::from_utf8_lossy(&page.body).contains("? page views"));
        assert_eq!(down.logged.borrow().len(), 2, "{:?}", down.logged.borrow());
    }

    #[test]
    fn unknown_paths_and_methods_get_json_errors() {
        let platform = Fake::default();
        let request = |method, path| Request {
            method,
            path,
            authorization: None,
            body: b"",
        };
        assert_eq!(handle(&platform, &request("GET", "/nope")).status, 404);
        let wrong = handle(&platform, &request("GET", "/uploads/policy"));
        assert_eq!(wrong.status, 405);
        assert_eq!(wrong.header("allow"), Some("POST"));
        assert_eq!(handle(&platform, &request("DELETE", "/")).status, 405);
    }
}
