//! `POST /objects/{key..}/presign` and `POST /objects/{key..}/presign-post`:
//! their query options and their JSON answers.
//!
//! Options are query parameters; a request body, if any, is ignored. Both
//! bind a content type and a size: a presigned `PUT` signs the exact
//! `content_length` and `content_type` the caller states, a POST policy the
//! `content_type` and the range `min_length..=max_length`; neither may go
//! over `max-upload-bytes` (413).

use serde_json::{Map, Value, json};

use crate::bindings::edgeplug::worker::uploader::{PresignedPost, PresignedRequest};
use crate::errors::HttpError;
use crate::query::{bool_param, param, required_u64_param, u64_param};
use crate::rfc3339;

/// How long a presigned URL works when `expires` is left out: 15 minutes.
pub const DEFAULT_EXPIRES: u32 = 900;
/// The longest a presigned URL may work: 7 days, SigV4's limit.
pub const MAX_EXPIRES: u32 = 604_800;

/// Parses `expires`: whole seconds from 1 to [`MAX_EXPIRES`],
/// [`DEFAULT_EXPIRES`] when absent.
pub fn parse_expires(query: Option<&str>) -> Result<u32, HttpError> {
    let Some(value) = param(query, "expires")? else {
        return Ok(DEFAULT_EXPIRES);
    };
    let invalid = |what: &str| {
        HttpError::InvalidInput(format!(
            "query parameter `expires` {what}; expected a whole number of seconds \
             from 1 to {MAX_EXPIRES}"
        ))
    };
    if value.is_empty() {
        return Err(invalid("is empty"));
    }
    // Digits only: `u32::from_str` would also take a leading `+`.
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("is not a decimal number"));
    }
    match value.parse::<u32>() {
        Ok(secs @ 1..=MAX_EXPIRES) => Ok(secs),
        _ => Err(invalid("is out of range")),
    }
}

/// Parses `content_type` (required), the `Content-Type` bound into the
/// signature (the client must then send exactly it). It must be a usable
/// header value: non-empty printable ASCII without surrounding spaces. `+`
/// is a space, as in any query: `image/svg+xml` is sent as `image/svg%2Bxml`.
pub fn parse_content_type(query: Option<&str>) -> Result<String, HttpError> {
    let Some(value) = param(query, "content_type")? else {
        return Err(HttpError::InvalidInput(
            "query parameter `content_type` is required: the upload's `Content-Type`, \
             such as `image/png`, which the signature binds"
                .into(),
        ));
    };
    let printable = value.bytes().all(|b| matches!(b, b' '..=b'~'));
    if value.is_empty() || !printable || value.trim() != value {
        return Err(HttpError::InvalidInput(
            "query parameter `content_type` must be a non-empty header value of printable \
             ASCII, such as `image/png`"
                .into(),
        ));
    }
    Ok(value)
}

/// The query of `POST /objects/{key..}/presign-post`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostPolicyQuery {
    /// `content_type` (required): the type the upload must have.
    pub content_type: String,
    /// `min_length` (default 0): the fewest bytes the file may have.
    pub min_length: u64,
    /// `max_length` (required): the most bytes the file may have.
    pub max_length: u64,
    /// `expires` (default [`DEFAULT_EXPIRES`]): the policy's life in seconds.
    pub expires: u32,
    /// `prefix=true`: the path's key is a prefix the uploaded key must
    /// start with, not the exact key.
    pub prefix: bool,
}

impl PostPolicyQuery {
    /// Parses and checks the query (400 naming the parameter at fault). The
    /// cap by `max-upload-bytes` comes later, once the config is read.
    pub fn parse(query: Option<&str>) -> Result<Self, HttpError> {
        let content_type = parse_content_type(query)?;
        let max_length = required_u64_param(
            query,
            "max_length",
            "the most bytes the uploaded file may have",
        )?;
        let min_length = u64_param(
            query,
            "min_length",
            "the fewest bytes the uploaded file may have",
        )?
        .unwrap_or(0);
        if min_length > max_length {
            return Err(HttpError::InvalidInput(format!(
                "query parameter `min_length` ({min_length}) is larger than `max_length` \
                 ({max_length})"
            )));
        }
        Ok(Self {
            content_type,
            min_length,
            max_length,
            expires: parse_expires(query)?,
            prefix: bool_param(query, "prefix")?,
        })
    }
}

/// Refuses a presigned size over the upload limit: 413 naming the parameter.
pub fn check_limit(param: &str, size: u64, limit: u64) -> Result<(), HttpError> {
    if size > limit {
        return Err(HttpError::TooLarge {
            limit,
            message: format!(
                "query parameter `{param}` ({size}) exceeds the upload limit of {limit} bytes"
            ),
        });
    }
    Ok(())
}

/// The POST policy's 200 answer:
/// `{"url","method":"POST","fields":{name: value},"expires_at","expires_at_unix"}`.
/// The browser sends a `multipart/form-data` POST to `url` with every field
/// and then the file, as the last field, named `file`.
pub fn post_to_json(post: &PresignedPost) -> Result<Value, HttpError> {
    let expires_at = expiry(post.expires_at)?;
    let mut fields = Map::new();
    for (name, value) in &post.fields {
        // A policy never repeats a field; a repeat would be the uploader's bug.
        if fields.insert(name.clone(), json!(value)).is_some() {
            return Err(HttpError::Internal(format!(
                "the uploader returned the form field `{name}` twice"
            )));
        }
    }
    Ok(json!({
        "url": post.url,
        "method": "POST",
        "fields": fields,
        "expires_at": expires_at,
        "expires_at_unix": post.expires_at,
    }))
}

/// An expiry time as RFC 3339 UTC.
fn expiry(unix: u64) -> Result<String, HttpError> {
    rfc3339::format_utc(unix).ok_or_else(|| {
        HttpError::Internal(format!(
            "the uploader returned an expiry time out of range: {unix}"
        ))
    })
}

/// The 200 answer's body:
/// `{"url","method","expires_at","expires_at_unix","headers":{name: value}}`,
/// `expires_at` being RFC 3339 UTC. Header names are kept as the uploader
/// spelled them; a header it lists twice (in any case) is joined with `, `,
/// as HTTP would combine it.
pub fn to_json(request: &PresignedRequest) -> Result<Value, HttpError> {
    let expires_at = expiry(request.expires_at)?;
    let mut headers = Map::new();
    for (name, value) in &request.headers {
        let seen = headers
            .iter_mut()
            .find(|(seen, _)| seen.eq_ignore_ascii_case(name));
        match seen {
            Some((_, Value::String(joined))) => {
                joined.push_str(", ");
                joined.push_str(value);
            }
            _ => {
                headers.insert(name.clone(), json!(value));
            }
        }
    }
    Ok(json!({
        "url": request.url,
        "method": request.method,
        "expires_at": expires_at,
        "expires_at_unix": request.expires_at,
        "headers": headers,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(err: HttpError) -> String {
        assert_eq!(err.status(), 400);
        err.to_string()
    }

    #[test]
    fn expires_defaults_to_15_minutes() {
        assert_eq!(parse_expires(None), Ok(900));
        assert_eq!(parse_expires(Some("content_type=x")), Ok(900));
    }

    #[test]
    fn expires_parses_seconds_in_range() {
        assert_eq!(parse_expires(Some("expires=1")), Ok(1));
        assert_eq!(parse_expires(Some("expires=60")), Ok(60));
        assert_eq!(parse_expires(Some("x=1&expires=3600")), Ok(3600));
        assert_eq!(parse_expires(Some("expires=0600")), Ok(600));
        assert_eq!(parse_expires(Some("expires=604800")), Ok(604_800));
    }

    #[test]
    fn bad_expires_is_400_naming_the_parameter() {
        for q in [
            "expires=",
            "expires",
            "expires=0",
            "expires=604801",
            "expires=4294967296",
            "expires=99999999999999999999",
            "expires=-1",
            "expires=+60",
            "expires=1.5",
            "expires=60s",
            "expires=%2060",
            "expires=1&expires=2",
            "expires=%zz",
        ] {
            let msg = message(parse_expires(Some(q)).unwrap_err());
            assert!(msg.contains("`expires`"), "{q}: {msg}");
        }
        let msg = message(parse_expires(Some("expires=0")).unwrap_err());
        assert!(msg.contains("from 1 to 604800"), "{msg}");
    }

    #[test]
    fn content_type_is_required_and_decoded() {
        for q in [None, Some("expires=5")] {
            let msg = message(parse_content_type(q).unwrap_err());
            assert!(msg.contains("`content_type` is required"), "{msg}");
        }
        assert_eq!(
            parse_content_type(Some("content_type=image/png")),
            Ok("image/png".into())
        );
        assert_eq!(
            parse_content_type(Some("content_type=text%2Fplain%3B%20charset%3Dutf-8")),
            Ok("text/plain; charset=utf-8".into())
        );
        // `+` is a space, as a browser's form encoding means it ...
        assert_eq!(
            parse_content_type(Some("content_type=text%2Fplain%3B+charset%3Dutf-8")),
            Ok("text/plain; charset=utf-8".into())
        );
        // ... and a literal `+` is `%2B`.
        assert_eq!(
            parse_content_type(Some("content_type=image/svg%2Bxml")),
            Ok("image/svg+xml".into())
        );
    }

    fn policy(q: &str) -> Result<PostPolicyQuery, HttpError> {
        PostPolicyQuery::parse(Some(q))
    }

    #[test]
    fn post_policy_query_defaults() {
        assert_eq!(
            policy("content_type=image/png&max_length=1000"),
            Ok(PostPolicyQuery {
                content_type: "image/png".into(),
                min_length: 0,
                max_length: 1000,
                expires: 900,
                prefix: false,
            })
        );
        assert_eq!(
            policy("content_type=a/b&max_length=9&min_length=9&expires=60&prefix=true"),
            Ok(PostPolicyQuery {
                content_type: "a/b".into(),
                min_length: 9,
                max_length: 9,
                expires: 60,
                prefix: true,
            })
        );
    }

    #[test]
    fn post_policy_query_errors_name_the_parameter() {
        for (q, name) in [
            ("max_length=1", "`content_type`"),
            ("content_type=a/b", "`max_length` is required"),
            ("content_type=a/b&max_length=x", "`max_length`"),
            (
                "content_type=a/b&max_length=1&min_length=-1",
                "`min_length`",
            ),
            (
                "content_type=a/b&max_length=1&min_length=2",
                "`min_length` (2)",
            ),
            ("content_type=a/b&max_length=1&expires=0", "`expires`"),
            ("content_type=a/b&max_length=1&prefix=yes", "`prefix`"),
        ] {
            let msg = message(policy(q).unwrap_err());
            assert!(msg.contains(name), "{q}: {msg}");
        }
    }

    #[test]
    fn sizes_over_the_limit_are_413() {
        assert_eq!(check_limit("max_length", 10, 10), Ok(()));
        let err = check_limit("content_length", 11, 10).unwrap_err();
        assert_eq!(err.status(), 413);
        assert_eq!(err.to_json()["error"]["limit"], 10);
        assert_eq!(
            err.to_string(),
            "query parameter `content_length` (11) exceeds the upload limit of 10 bytes"
        );
    }

    #[test]
    fn post_json_shape() {
        let post = PresignedPost {
            url: "https://s3.example/uploads".into(),
            fields: vec![
                ("key".into(), "photos/${filename}".into()),
                ("policy".into(), "eyJ9".into()),
            ],
            expires_at: 1_796_000_523,
        };
        assert_eq!(
            post_to_json(&post).unwrap(),
            json!({
                "url": "https://s3.example/uploads",
                "method": "POST",
                "fields": {"key": "photos/${filename}", "policy": "eyJ9"},
                "expires_at": "2026-11-30T01:02:03Z",
                "expires_at_unix": 1_796_000_523_u64,
            })
        );
        let mut twice = post.clone();
        twice.fields.push(("key".into(), "x".into()));
        assert_eq!(post_to_json(&twice).unwrap_err().status(), 500);
    }

    #[test]
    fn bad_content_type_is_400() {
        for q in [
            "content_type=",
            "content_type",
            "content_type=%0Aevil",
            "content_type=a%0D%0Ab",
            "content_type=%7F",
            "content_type=caf%C3%A9",
            "content_type=%20image/png",
            "content_type=image/png%20",
            "content_type=a&content_type=b",
        ] {
            let msg = message(parse_content_type(Some(q)).unwrap_err());
            assert!(msg.contains("`content_type`"), "{q}: {msg}");
        }
    }

    fn presigned(headers: &[(&str, &str)]) -> PresignedRequest {
        PresignedRequest {
            url: "https://s3.example/b/k?X-Amz-Signature=abc".into(),
            method: "PUT".into(),
            expires_at: 1_796_000_523,
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn json_shape() {
        let json = to_json(&presigned(&[("content-type", "image/png")])).unwrap();
        assert_eq!(
            json,
            json!({
                "url": "https://s3.example/b/k?X-Amz-Signature=abc",
                "method": "PUT",
                "expires_at": "2026-11-30T01:02:03Z",
                "expires_at_unix": 1_796_000_523_u64,
                "headers": {"content-type": "image/png"}
            })
        );
    }

    #[test]
    fn json_headers_are_an_object_even_when_empty() {
        let json = to_json(&presigned(&[])).unwrap();
        assert_eq!(json["headers"], json!({}));
    }

    #[test]
    fn json_header_names_are_kept_and_repeats_joined() {
        let json = to_json(&presigned(&[
            ("Content-Type", "image/png"),
            ("x-amz-meta-a", "1"),
            ("X-Amz-Meta-A", "2"),
        ]))
        .unwrap();
        assert_eq!(
            json["headers"],
            json!({"Content-Type": "image/png", "x-amz-meta-a": "1, 2"})
        );
    }

    #[test]
    fn expiry_out_of_range_is_500() {
        let mut request = presigned(&[]);
        request.expires_at = u64::MAX;
        assert_eq!(to_json(&request).unwrap_err().status(), 500);
    }
}
