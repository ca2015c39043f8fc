//! Checks on `PUT /objects/{key}` made before the body is touched: length,
//! limit and content type. The limit is also handed to the uploader as
//! `max-length`, which enforces it mid-stream for a chunked body.

use crate::errors::HttpError;

/// Config key holding the largest accepted upload, in bytes.
pub const KEY_MAX_UPLOAD: &str = "max-upload-bytes";
/// The default limit: 5 GiB, S3's single-PUT limit.
pub const DEFAULT_MAX_UPLOAD: u64 = 5 * 1024 * 1024 * 1024;

/// Parses the request's `Content-Length` values (one per header line).
///
/// Several equal values (`5, 5`, or two header lines) are accepted as one,
/// as RFC 9110 §8.6 allows; differing values are refused. No header at all
/// means a body of unknown length (chunked): `None`, and the uploader goes
/// multipart.
pub fn content_length(values: &[Vec<u8>]) -> Result<Option<u64>, HttpError> {
    if values.is_empty() {
        return Ok(None);
    }
    let invalid =
        || HttpError::InvalidInput("Content-Length header is not a decimal number".into());
    let mut length = None;
    for item in values.iter().flat_map(|v| v.split(|&b| b == b',')) {
        let digits = item.trim_ascii();
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return Err(invalid());
        }
        let parsed = std::str::from_utf8(digits)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(invalid)?;
        if length.is_some_and(|l| l != parsed) {
            return Err(HttpError::InvalidInput(
                "Content-Length header has conflicting values".into(),
            ));
        }
        length = Some(parsed);
    }
    length.ok_or_else(invalid).map(Some)
}

/// Reads the upload limit from the `max-upload-bytes` config value: unset
/// or blank means the 5 GiB default; anything else must be a decimal `u64`
/// (surrounding whitespace allowed), or the server is misconfigured (500).
pub fn max_upload(config_value: Option<&str>) -> Result<u64, HttpError> {
    let Some(value) = config_value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(DEFAULT_MAX_UPLOAD);
    };
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad_limit());
    }
    value.parse().map_err(|_| bad_limit())
}

fn bad_limit() -> HttpError {
    HttpError::Internal(format!(
        "config key `{KEY_MAX_UPLOAD}` is not a decimal number of bytes"
    ))
}

/// Refuses a body whose Content-Length already says it exceeds `limit`,
/// before any byte goes upstream.
pub fn check_size(length: u64, limit: u64) -> Result<(), HttpError> {
    if length > limit {
        return Err(HttpError::TooLarge {
            limit,
            message: format!("Content-Length {length} exceeds the upload limit of {limit} bytes"),
        });
    }
    Ok(())
}

/// The request's `Content-Type`, passed on to the store. Several values
/// are ambiguous (400); a non-UTF-8 one cannot be passed on (400).
pub fn content_type(values: &[Vec<u8>]) -> Result<Option<String>, HttpError> {
    match values {
        [] => Ok(None),
        [value] => String::from_utf8(value.clone())
            .map(Some)
            .map_err(|_| HttpError::InvalidInput("Content-Type header is not valid UTF-8".into())),
        _ => Err(HttpError::InvalidInput(
            "Content-Type header is given more than once".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(vs: &[&str]) -> Vec<Vec<u8>> {
        vs.iter().map(|v| v.as_bytes().to_vec()).collect()
    }

    #[test]
    fn missing_length_is_unknown() {
        assert_eq!(content_length(&[]), Ok(None));
    }

    #[test]
    fn parses_length() {
        assert_eq!(content_length(&values(&["0"])), Ok(Some(0)));
        assert_eq!(content_length(&values(&["1234"])), Ok(Some(1234)));
        assert_eq!(content_length(&values(&[" 12 "])), Ok(Some(12)));
        assert_eq!(content_length(&values(&["5, 5"])), Ok(Some(5)));
        assert_eq!(content_length(&values(&["5", "5"])), Ok(Some(5)));
        assert_eq!(
            content_length(&values(&["18446744073709551615"])),
            Ok(Some(u64::MAX))
        );
    }

    #[test]
    fn bad_lengths_are_400() {
        for bad in [
            &["abc"][..],
            &[""],
            &["-1"],
            &["+1"],
            &["1.0"],
            &["5,"],
            &["5, 6"],
            &["5", "6"],
            &["18446744073709551616"],
        ] {
            let err = content_length(&values(bad)).unwrap_err();
            assert_eq!(err.status(), 400, "{bad:?}");
        }
        assert_eq!(content_length(&[vec![0xff]]).unwrap_err().status(), 400);
    }

    #[test]
    fn limit_defaults_to_5_gib() {
        assert_eq!(max_upload(None), Ok(5_368_709_120));
        assert_eq!(max_upload(Some("")), Ok(DEFAULT_MAX_UPLOAD));
        assert_eq!(max_upload(Some("  ")), Ok(DEFAULT_MAX_UPLOAD));
    }

    #[test]
    fn limit_is_read_from_config() {
        assert_eq!(max_upload(Some("1048576")), Ok(1_048_576));
        assert_eq!(max_upload(Some("10\n")), Ok(10));
        assert_eq!(max_upload(Some("0")), Ok(0));
    }

    #[test]
    fn bad_limit_is_500_naming_the_key() {
        for bad in ["5GiB", "-1", "1e9", "99999999999999999999"] {
            let err = max_upload(Some(bad)).unwrap_err();
            assert_eq!(err.status(), 500, "{bad}");
            assert!(err.to_string().contains("max-upload-bytes"), "{err}");
        }
    }

    #[test]
    fn size_check() {
        assert_eq!(check_size(10, 10), Ok(()));
        assert_eq!(check_size(0, 0), Ok(()));
        let err = check_size(11, 10).unwrap_err();
        assert_eq!(err.status(), 413);
        assert_eq!(err.to_json()["error"]["limit"], 10);
        assert_eq!(
            err.to_string(),
            "Content-Length 11 exceeds the upload limit of 10 bytes"
        );
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type(&[]), Ok(None));
        assert_eq!(
            content_type(&values(&["image/png"])),
            Ok(Some("image/png".into()))
        );
        assert_eq!(
            content_type(&values(&["a", "b"])).unwrap_err().status(),
            400
        );
        assert_eq!(content_type(&[vec![0xff]]).unwrap_err().status(), 400);
    }
}
