//! Checking a caller's `put` / `presign-put` arguments and turning them,
//! with the configuration, into a signed request or a presigned URL.
//!
//! Arguments are checked before the configuration is read, so that a bad
//! key is the caller's 400 even on a misconfigured server, and before the
//! body stream is touched.

use std::time::{Duration, SystemTime};

use crate::config::Config;
use crate::error::Error;
use crate::key;
use crate::object_url::ObjectUrl;
use crate::signing;
use crate::transfer::MAX_PUT_BYTES;

/// The longest a presigned URL may stay valid: 7 days, SigV4's limit.
pub const MAX_PRESIGN_SECS: u32 = 7 * 24 * 60 * 60;

/// The longest `content-type` accepted, in bytes.
const MAX_CONTENT_TYPE_BYTES: usize = 1024;

/// Checked arguments of a `put`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutInput<'a> {
    key: &'a str,
    content_type: Option<&'a str>,
    content_length: u64,
}

/// A `put`, signed and ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutRequest {
    /// Where it goes.
    pub url: ObjectUrl,
    /// Every header to send (`host` excluded: the HTTP host sets it).
    pub headers: Vec<(String, String)>,
    /// The exact number of body bytes to send.
    pub content_length: u64,
}

impl<'a> PutInput<'a> {
    /// Checks the key, the content type and the length. The length is
    /// required: a single `PUT` must declare it (multipart uploads for
    /// unknown lengths are not implemented yet).
    pub fn check(
        key: &'a str,
        content_type: Option<&'a str>,
        content_length: Option<u64>,
    ) -> Result<Self, Error> {
        key::validate(key)?;
        let content_type = check_content_type(content_type)?;
        let content_length = content_length
            .ok_or_else(|| Error::InvalidInput("content-length is required".into()))?;
        if content_length > MAX_PUT_BYTES {
            return Err(Error::TooLarge(MAX_PUT_BYTES));
        }
        Ok(Self {
            key,
            content_type,
            content_length,
        })
    }

    /// Signs the request with `config`'s credentials at `time`.
    pub fn sign(&self, config: &Config, time: SystemTime) -> Result<PutRequest, Error> {
        let url = ObjectUrl::new(config, self.key);
        let headers =
            signing::sign_put(config, &url, self.content_length, self.content_type, time)?;
        Ok(PutRequest {
            url,
            headers,
            content_length: self.content_length,
        })
    }
}

/// Checked arguments of a `presign-put`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignInput<'a> {
    key: &'a str,
    content_type: Option<&'a str>,
    expires_in: Duration,
}

impl<'a> PresignInput<'a> {
    /// Checks the key, the lifetime (1 s to 7 days) and the content type.
    /// `content-length` is ignored: a presigned `PUT` cannot bind it
    /// portably (browsers set it themselves).
    pub fn check(
        key: &'a str,
        expires_in_secs: u32,
        content_type: Option<&'a str>,
    ) -> Result<Self, Error> {
        key::validate(key)?;
        if !(1..=MAX_PRESIGN_SECS).contains(&expires_in_secs) {
            return Err(Error::InvalidInput(format!(
                "expires-in-secs must be between 1 and {MAX_PRESIGN_SECS} (7 days), got {expires_in_secs}"
            )));
        }
        let content_type = check_content_type(content_type)?;
        Ok(Self {
            key,
            content_type,
            expires_in: Duration::from_secs(u64::from(expires_in_secs)),
        })
    }

    /// Returns the presigned URL, valid from `time` on.
    pub fn presign(&self, config: &Config, time: SystemTime) -> Result<String, Error> {
        let url = ObjectUrl::new(config, self.key);
        Ok(signing::presign_put(
            config,
            &url,
            self.content_type,
            self.expires_in,
            time,
        )?)
    }
}

/// A content type must be a header value we can send and sign: visible
/// ASCII and spaces, trimmed, not empty.
fn check_content_type(content_type: Option<&str>) -> Result<Option<&str>, Error> {
    let Some(content_type) = content_type else {
        return Ok(None);
    };
    // Trimmed because SigV4 signs the trimmed value and the host may send
    // the raw one: both must agree.
    let content_type = content_type.trim();
    if content_type.is_empty() {
        return Err(Error::InvalidInput("content-type must not be empty".into()));
    }
    if content_type.len() > MAX_CONTENT_TYPE_BYTES {
        return Err(Error::InvalidInput(format!(
            "content-type is longer than {MAX_CONTENT_TYPE_BYTES} bytes"
        )));
    }
    if !content_type.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        return Err(Error::InvalidInput(
            "content-type may hold only visible ASCII characters and spaces".into(),
        ));
    }
    Ok(Some(content_type))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::from_lookup(|k| {
            Ok(match k {
                "s3-endpoint" => Some("http://127.0.0.1:9000".to_owned()),
                "s3-bucket" => Some("b".to_owned()),
                "s3-access-key-id" => Some("AKID".to_owned()),
                "s3-secret-access-key" => Some("SECRET".to_owned()),
                _ => None,
            })
        })
        .unwrap()
    }

    #[test]
    fn put_needs_a_length() {
        assert_eq!(
            PutInput::check("k", None, None),
            Err(Error::InvalidInput("content-length is required".into()))
        );
    }

    #[test]
    fn put_refuses_more_than_five_gib() {
        assert!(PutInput::check("k", None, Some(MAX_PUT_BYTES)).is_ok());
        assert_eq!(
            PutInput::check("k", None, Some(MAX_PUT_BYTES + 1)),
            Err(Error::TooLarge(MAX_PUT_BYTES))
        );
    }

    #[test]
    fn key_is_checked_first() {
        assert!(matches!(
            PutInput::check("/k", Some("\n"), None),
            Err(Error::InvalidInput(m)) if m.contains("key")
        ));
    }

    #[test]
    fn content_types_are_checked() {
        assert_eq!(
            PutInput::check("k", Some(" text/plain; charset=utf-8 "), Some(1))
                .unwrap()
                .content_type,
            Some("text/plain; charset=utf-8")
        );
        for bad in ["", "  ", "text/\u{7f}", "tëxt/plain", "a\r\nx-evil: 1"] {
            assert!(
                matches!(
                    PutInput::check("k", Some(bad), Some(1)),
                    Err(Error::InvalidInput(m)) if m.starts_with("content-type")
                ),
                "{bad:?}"
            );
        }
        let long = "a".repeat(MAX_CONTENT_TYPE_BYTES + 1);
        assert!(PutInput::check("k", Some(&long), Some(1)).is_err());
    }

    #[test]
    fn signed_put_targets_the_object() {
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600);
        let request = PutInput::check("dir/file name", Some("text/plain"), Some(3))
            .unwrap()
            .sign(&config(), time)
            .unwrap();
        assert_eq!(
            request.url.to_url(),
            "http://127.0.0.1:9000/b/dir/file%20name"
        );
        assert_eq!(request.content_length, 3);
        let names: Vec<&str> = request.headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "content-length",
                "content-type",
                "x-amz-date",
                "authorization",
                "x-amz-content-sha256"
            ]
        );
    }

    #[test]
    fn presign_lifetime_is_bounded() {
        for secs in [0, MAX_PRESIGN_SECS + 1, u32::MAX] {
            assert!(
                matches!(
                    PresignInput::check("k", secs, None),
                    Err(Error::InvalidInput(m)) if m.starts_with("expires-in-secs")
                ),
                "{secs}"
            );
        }
        assert!(PresignInput::check("k", 1, None).is_ok());
        assert!(PresignInput::check("k", MAX_PRESIGN_SECS, None).is_ok());
    }

    #[test]
    fn presign_checks_key_and_content_type() {
        assert!(PresignInput::check("a/../b", 60, None).is_err());
        assert!(PresignInput::check("k", 60, Some("bad\u{1}")).is_err());
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600);
        let url = PresignInput::check("k", MAX_PRESIGN_SECS, Some("image/png"))
            .unwrap()
            .presign(&config(), time)
            .unwrap();
        assert!(url.starts_with("http://127.0.0.1:9000/b/k?"));
        assert!(url.contains("X-Amz-Expires=604800"));
        assert!(!url.contains("SECRET"));
    }
}
