//! `POST /objects/{key..}/presign`: its query options and its JSON answer.
//!
//! Options are query parameters (`?expires=SECONDS&content_type=TYPE`); a
//! request body, if any, is ignored.

use serde_json::{Map, Value, json};

use crate::bindings::edgeplug::worker::uploader::PresignedRequest;
use crate::errors::HttpError;
use crate::query::param;
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

/// Parses `content_type`, the `Content-Type` bound into the signature (the
/// client must then send exactly it). It must be a usable header value:
/// non-empty printable ASCII without surrounding spaces.
pub fn parse_content_type(query: Option<&str>) -> Result<Option<String>, HttpError> {
    let Some(value) = param(query, "content_type")? else {
        return Ok(None);
    };
    let printable = value.bytes().all(|b| matches!(b, b' '..=b'~'));
    if value.is_empty() || !printable || value.trim() != value {
        return Err(HttpError::InvalidInput(
            "query parameter `content_type` must be a non-empty header value of printable \
             ASCII, such as `image/png`"
                .into(),
        ));
    }
    Ok(Some(value))
}

/// The 200 answer's body:
/// `{"url","method","expires_at","expires_at_unix","headers":{name: value}}`,
/// `expires_at` being RFC 3339 UTC. Header names are kept as the uploader
/// spelled them; a header it lists twice (in any case) is joined with `, `,
/// as HTTP would combine it.
pub fn to_json(request: &PresignedRequest) -> Result<Value, HttpError> {
    let expires_at = rfc3339::format_utc(request.expires_at).ok_or_else(|| {
        HttpError::Internal(format!(
            "the uploader returned an expiry time out of range: {}",
            request.expires_at
        ))
    })?;
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
    fn content_type_is_optional_and_decoded() {
        assert_eq!(parse_content_type(None), Ok(None));
        assert_eq!(parse_content_type(Some("expires=5")), Ok(None));
        assert_eq!(
            parse_content_type(Some("content_type=image/png")),
            Ok(Some("image/png".into()))
        );
        assert_eq!(
            parse_content_type(Some("content_type=text%2Fplain%3B%20charset%3Dutf-8")),
            Ok(Some("text/plain; charset=utf-8".into()))
        );
        // `+` is not a space here: it is kept, as in `image/svg+xml`.
        assert_eq!(
            parse_content_type(Some("content_type=image/svg+xml")),
            Ok(Some("image/svg+xml".into()))
        );
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
