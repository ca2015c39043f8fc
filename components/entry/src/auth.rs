//! Who may write: the `upload-token` credential and the two opt-ins.
//!
//! Writes fail closed. Every write route (uploads, both presign routes and
//! `POST /counters/{name}`) needs `Authorization: Bearer <token>` with the
//! `upload-token`, unless the operator opened that kind of write to anyone in
//! plain words: `allow-anonymous-uploads = true` (uploads and presigning) or
//! `allow-anonymous-counter-writes = true` (counter increments). With neither
//! a token nor the opt-in the route answers 403 `writes_not_configured`,
//! naming both settings. On FastEdge a missing or misnamed `UPLOAD_TOKEN`
//! secret reads as unset, so it closes writes rather than opening them.
//!
//! The token is compared in constant time, and neither it nor the header ever
//! appears in an answer: every refusal is the same 401 with
//! `www-authenticate: Bearer`, whatever was wrong.

use crate::errors::HttpError;

/// Config key holding the write credential.
pub const KEY_UPLOAD_TOKEN: &str = "upload-token";
/// Config key that opens uploads and presigning to anyone when `true`.
pub const KEY_ALLOW_ANONYMOUS_UPLOADS: &str = "allow-anonymous-uploads";
/// Config key that opens `POST /counters/{name}` to anyone when `true`.
pub const KEY_ALLOW_ANONYMOUS_COUNTER_WRITES: &str = "allow-anonymous-counter-writes";

/// A kind of write, each with its own opt-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// `PUT /objects/…` and both presign routes.
    Uploads,
    /// `POST /counters/{name}`.
    CounterWrites,
}

impl Write {
    /// The config key that opens this kind of write to anyone.
    pub fn opt_in_key(self) -> &'static str {
        match self {
            Self::Uploads => KEY_ALLOW_ANONYMOUS_UPLOADS,
            Self::CounterWrites => KEY_ALLOW_ANONYMOUS_COUNTER_WRITES,
        }
    }

    /// What is closed, for the 403's message.
    fn described(self) -> &'static str {
        match self {
            Self::Uploads => "uploads and presigning",
            Self::CounterWrites => "counter writes",
        }
    }
}

/// Parses an opt-in's config value: `true` or `false` exactly (surrounding
/// whitespace aside); unset or blank is `false`. Anything else is a
/// misconfiguration (500 naming the key), never a silent guess either way.
pub fn opt_in(key: &str, config_value: Option<&str>) -> Result<bool, HttpError> {
    match config_value.map(str::trim) {
        None | Some("" | "false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(HttpError::Internal(format!(
            "config key `{key}` must be `true` or `false`"
        ))),
    }
}

/// Decides a write from what is configured: the opt-in opens it; otherwise
/// a configured token must be presented (401); with neither, 403
/// `writes_not_configured`.
pub fn authorize_write(
    write: Write,
    opted_in: bool,
    token: Option<&str>,
    authorization: &[Vec<u8>],
) -> Result<(), HttpError> {
    if opted_in {
        return Ok(());
    }
    match token {
        Some(token) => check(token, authorization),
        None => Err(HttpError::WritesNotConfigured {
            what: write.described(),
            opt_in: write.opt_in_key(),
        }),
    }
}

/// The token from the `upload-token` config value: `None` (no credential
/// configured, so writes are closed unless opted in) when unset or blank. Surrounding whitespace (a trailing newline from a secret
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
            "this route needs `Authorization: Bearer <token>` with the server's \
             `upload-token`"
                .into(),
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
    fn opt_ins_are_exactly_true_or_false() {
        assert_eq!(opt_in("k", None), Ok(false));
        assert_eq!(opt_in("k", Some("")), Ok(false));
        assert_eq!(opt_in("k", Some("false")), Ok(false));
        assert_eq!(opt_in("k", Some("true")), Ok(true));
        assert_eq!(opt_in("k", Some(" true\n")), Ok(true));
        for bad in ["TRUE", "True", "1", "yes", "on", "tru", "true false", "0"] {
            let err = opt_in("allow-anonymous-uploads", Some(bad)).unwrap_err();
            assert_eq!(err.status(), 500, "{bad}");
            assert!(
                err.to_string().contains("`allow-anonymous-uploads`"),
                "{err}"
            );
        }
    }

    #[test]
    fn writes_fail_closed_without_token_or_opt_in() {
        for write in [Write::Uploads, Write::CounterWrites] {
            let err = authorize_write(write, false, None, &values(&["Bearer x"])).unwrap_err();
            assert_eq!(err.status(), 403);
            assert_eq!(err.code(), "writes_not_configured");
            let message = err.to_string();
            assert!(message.contains("`upload-token`"), "{message}");
            assert!(
                message.contains(&format!("`{} = true`", write.opt_in_key())),
                "{message}"
            );
        }
    }

    #[test]
    fn the_opt_in_opens_and_the_token_is_checked_otherwise() {
        assert_eq!(authorize_write(Write::Uploads, true, None, &[]), Ok(()));
        assert_eq!(
            authorize_write(Write::CounterWrites, true, Some("t"), &[]),
            Ok(())
        );
        assert_eq!(
            authorize_write(Write::Uploads, false, Some("t"), &values(&["Bearer t"])),
            Ok(())
        );
        let err = authorize_write(Write::Uploads, false, Some("t"), &[]).unwrap_err();
        assert_eq!(err.status(), 401);
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
