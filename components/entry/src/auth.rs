//! Bearer-token auth for uploads and presigning (the `upload-token` config
//! key).
//!
//! When `upload-token` is set, `PUT /objects/{key..}` and
//! `POST /objects/{key..}/presign` need `Authorization: Bearer <token>`. The
//! token is compared in constant time, and neither it nor the header ever
//! appears in an answer: every refusal is the same 401 with
//! `www-authenticate: Bearer`, whatever was wrong.

use crate::errors::HttpError;

/// Config key holding the token uploads and presigning need.
pub const KEY_UPLOAD_TOKEN: &str = "upload-token";

/// The token from the `upload-token` config value: `None` (auth off) when
/// unset or blank. Surrounding whitespace (a trailing newline from a secret
/// file) is not part of the token.
pub fn configured_token(config_value: Option<&str>) -> Option<&str> {
    config_value
        .map(str::trim)
        .filter(|token| !token.is_empty())
}

/// The token of the request's `Authorization` values (one per header line),
/// when there is exactly one value and it is `Bearer <token>`: the scheme
/// matched case-insensitively (RFC 9110 §11.1), then exactly one space, then
/// a non-empty token taken byte for byte.
pub fn bearer_token(values: &[Vec<u8>]) -> Option<&[u8]> {
    const SCHEME: &[u8] = b"bearer ";
    let [value] = values else {
        return None;
    };
    let (scheme, token) = value.split_at_checked(SCHEME.len())?;
    (scheme.eq_ignore_ascii_case(SCHEME) && !token.is_empty()).then_some(token)
}

/// Whether `a == b`, in time that depends only on the lengths: every byte
/// is compared, with no early exit on the first difference. Lengths differ
/// early, which reveals only the token's length.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a
        .iter()
        .zip(b)
        .fold(0u8, |acc, (x, y)| std::hint::black_box(acc | (x ^ y)));
    std::hint::black_box(diff) == 0
}

/// Checks the request's `Authorization` values against `expected`.
pub fn check(expected: &str, authorization: &[Vec<u8>]) -> Result<(), HttpError> {
    match bearer_token(authorization) {
        Some(token) if constant_time_eq(token, expected.as_bytes()) => Ok(()),
        // One message for missing, malformed and wrong: nothing to probe.
        _ => Err(HttpError::AuthRequired(
            "this route needs `Authorization: Bearer <token>` with the upload token".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(vs: &[&str]) -> Vec<Vec<u8>> {
        vs.iter().map(|v| v.as_bytes().to_vec()).collect()
    }

    fn token(vs: &[&str]) -> Option<String> {
        bearer_token(&values(vs)).map(|t| String::from_utf8(t.to_vec()).unwrap())
    }

    #[test]
    fn configured_token_is_trimmed_and_blank_is_off() {
        assert_eq!(configured_token(None), None);
        assert_eq!(configured_token(Some("")), None);
        assert_eq!(configured_token(Some(" \n")), None);
        assert_eq!(configured_token(Some("s3cret\n")), Some("s3cret"));
        assert_eq!(configured_token(Some("s3cret")), Some("s3cret"));
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        assert_eq!(token(&["Bearer abc"]), Some("abc".into()));
        assert_eq!(token(&["bearer abc"]), Some("abc".into()));
        assert_eq!(token(&["BEARER abc"]), Some("abc".into()));
        assert_eq!(token(&["bEaReR a.b-c~d+e/f="]), Some("a.b-c~d+e/f=".into()));
    }

    #[test]
    fn the_token_is_kept_byte_for_byte() {
        // Exactly one space: a second one belongs to the token, which then
        // does not match.
        assert_eq!(token(&["Bearer  abc"]), Some(" abc".into()));
        assert_eq!(token(&["Bearer abc "]), Some("abc ".into()));
        assert_eq!(bearer_token(&[b"Bearer \xff".to_vec()]), Some(&b"\xff"[..]));
    }

    #[test]
    fn other_forms_have_no_token() {
        for bad in [
            &[][..],
            &[""],
            &["Bearer"],
            &["Bearer "],
            &["Bearerabc"],
            &["Bearer\tabc"],
            &[" Bearer abc"],
            &["Basic YWxhZGRpbjpvcGVuc2VzYW1l"],
            &["Token abc"],
            &["Bearer abc", "Bearer abc"],
        ] {
            assert_eq!(token(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"s3cret", b"s3cret"));
        assert!(!constant_time_eq(b"s3cret", b"s3creT"));
        assert!(!constant_time_eq(b"s3cret", b"S3cret"));
        assert!(!constant_time_eq(b"s3cret", b"s3cre"));
        assert!(!constant_time_eq(b"s3cret", b"s3crets"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(!constant_time_eq(&[0x00], &[0x80]));
    }

    #[test]
    fn check_accepts_only_the_exact_token() {
        assert_eq!(check("s3cret", &values(&["Bearer s3cret"])), Ok(()));
        assert_eq!(check("s3cret", &values(&["bearer s3cret"])), Ok(()));
        for bad in [
            &[][..],
            &["Bearer s3cre"],
            &["Bearer s3crets"],
            &["Bearer S3CRET"],
            &["Bearer  s3cret"],
            &["Basic s3cret"],
            &["s3cret"],
            &["Bearer s3cret", "Bearer s3cret"],
        ] {
            let err = check("s3cret", &values(bad)).unwrap_err();
            assert_eq!(err.status(), 401, "{bad:?}");
            assert_eq!(err.code(), "unauthorized");
            assert!(!err.to_string().contains("s3cret"), "{err}");
        }
    }
}
