//! Presigned POST policies: what a browser needs to upload one file
//! straight to the bucket with an HTML form, within bounds the store
//! enforces (key or key folder, content type, size range, expiry).
//!
//! The policy is a JSON document, base64-encoded into the form's `policy`
//! field and signed with SigV4's signing key; the store checks the
//! signature, then every condition against the form it receives.

use std::time::SystemTime;

use crate::checksum;
use crate::config::Config;
use crate::error::Error;
use crate::key;
use crate::object_url::ObjectUrl;
use crate::plan::MAX_PUT_BYTES;
use crate::request::{check_content_type, check_expiry, unix_secs};
use crate::signing;

/// The SigV4 algorithm name, as the form's `x-amz-algorithm`.
const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// What S3 substitutes with the uploaded file's name in a `key` field.
pub const FILENAME_VARIABLE: &str = "${filename}";

/// A presigned POST, as the WIT `presigned-post` carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedPost {
    /// Where to POST the form.
    pub url: String,
    /// The form fields, in order; the file goes after them, as `file`.
    pub fields: Vec<(String, String)>,
    /// When the policy stops working, in seconds since the Unix epoch.
    pub expires_at: u64,
}

/// Checked arguments of a `presign-post`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostPolicyInput<'a> {
    key: &'a str,
    key_is_prefix: bool,
    content_type: &'a str,
    min_length: u64,
    max_length: u64,
    expires_in_secs: u32,
}

impl<'a> PostPolicyInput<'a> {
    /// Checks the key (a folder when `key_is_prefix`: uploads then go under
    /// `key/`), the content type, the size range (`min_length` at most
    /// `max_length`, which is at most 5 GiB, what one POST may carry) and the
    /// lifetime (1 s to 7 days).
    pub fn check(
        key: &'a str,
        key_is_prefix: bool,
        content_type: &'a str,
        min_length: u64,
        max_length: u64,
        expires_in_secs: u32,
    ) -> Result<Self, Error> {
        key::validate(key)?;
        check_expiry(expires_in_secs)?;
        let content_type = check_content_type(Some(content_type))?.ok_or_else(|| {
            Error::InvalidInput("content-type is required: a POST policy binds it".into())
        })?;
        if min_length > max_length {
            return Err(Error::InvalidInput(format!(
                "min-length ({min_length}) must not be more than max-length ({max_length})"
            )));
        }
        if max_length > MAX_PUT_BYTES {
            return Err(Error::TooLarge(MAX_PUT_BYTES));
        }
        Ok(Self {
            key,
            key_is_prefix,
            content_type,
            min_length,
            max_length,
            expires_in_secs,
        })
    }

    /// The caller's key (without the configured prefix).
    pub fn key(&self) -> &'a str {
        self.key
    }

    /// The policy's JSON: its expiration and every condition the store
    /// checks. `stored_key` is the key (or folder) with any configured
    /// prefix.
    fn policy_json(&self, config: &Config, stored_key: &str, time: SystemTime) -> String {
        let expires_at = time + std::time::Duration::from_secs(u64::from(self.expires_in_secs));
        let key_condition = if self.key_is_prefix {
            format!(
                "[\"starts-with\",\"$key\",{}]",
                json_string(&format!("{stored_key}/"))
            )
        } else {
            format!("[\"eq\",\"$key\",{}]", json_string(stored_key))
        };
        let mut conditions = vec![
            format!("{{\"bucket\":{}}}", json_string(&config.bucket)),
            key_condition,
            format!(
                "[\"eq\",\"$Content-Type\",{}]",
                json_string(self.content_type)
            ),
            format!(
                "[\"content-length-range\",{},{}]",
                self.min_length, self.max_length
            ),
            format!("{{\"x-amz-algorithm\":{}}}", json_string(ALGORITHM)),
            format!(
                "{{\"x-amz-credential\":{}}}",
                json_string(&signing::credential(config, time))
            ),
            format!(
                "{{\"x-amz-date\":{}}}",
                json_string(&signing::amz_date(time))
            ),
        ];
        if let Some(token) = &config.session_token {
            conditions.push(format!(
                "{{\"x-amz-security-token\":{}}}",
                json_string(token)
            ));
        }
        format!(
            "{{\"expiration\":{},\"conditions\":[{}]}}",
            json_string(&signing::iso8601(expires_at)),
            conditions.join(",")
        )
    }

    /// Returns the presigned POST for `stored_key` (the key, or the folder
    /// with `key_is_prefix`, with any configured prefix), valid from `time`.
    ///
    /// With `key_is_prefix`, the `key` field is `<folder>/${filename}`: S3
    /// puts the uploaded file's name there. A client may also set the field
    /// to any key under `<folder>/` itself (stores without the variable,
    /// such as s3s, store the field as it is).
    pub fn presign(&self, config: &Config, stored_key: &str, time: SystemTime) -> PresignedPost {
        let policy = checksum::base64(self.policy_json(config, stored_key, time).as_bytes());
        let signature = signing::sign_post_policy(config, &policy, time);
        let key_field = if self.key_is_prefix {
            format!("{stored_key}/{FILENAME_VARIABLE}")
        } else {
            stored_key.to_owned()
        };
        let mut fields = vec![
            ("key".to_owned(), key_field),
            ("Content-Type".to_owned(), self.content_type.to_owned()),
            ("x-amz-algorithm".to_owned(), ALGORITHM.to_owned()),
            (
                "x-amz-credential".to_owned(),
                signing::credential(config, time),
            ),
            ("x-amz-date".to_owned(), signing::amz_date(time)),
        ];
        if let Some(token) = &config.session_token {
            fields.push(("x-amz-security-token".to_owned(), token.clone()));
        }
        fields.push(("policy".to_owned(), policy));
        fields.push(("x-amz-signature".to_owned(), signature));
        PresignedPost {
            url: ObjectUrl::bucket(config).to_url(),
            fields,
            expires_at: unix_secs(time).saturating_add(u64::from(self.expires_in_secs)),
        }
    }
}

/// `text` as a JSON string literal. Keys and content types were checked
/// (no control characters), but escape them anyway: the policy must parse.
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// 2026-01-01T00:00:00Z.
    fn time() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600)
    }

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn config(token: Option<&str>) -> Config {
        Config::from_lookup(|k| {
            Ok(match k {
                "s3-endpoint" => Some("http://127.0.0.1:9000".to_owned()),
                "s3-bucket" => Some("my-bucket".to_owned()),
                "s3-access-key-id" => Some("AKIDEXAMPLE".to_owned()),
                "s3-secret-access-key" => Some(SECRET.to_owned()),
                "s3-session-token" => token.map(str::to_owned),
                _ => None,
            })
        })
        .unwrap()
    }

    fn field<'a>(post: &'a PresignedPost, name: &str) -> Option<&'a str> {
        post.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn decoded_policy(post: &PresignedPost) -> String {
        let policy = field(post, "policy").unwrap();
        String::from_utf8(base64_decode(policy)).unwrap()
    }

    /// A plain base64 decoder for the tests (the crate only encodes).
    fn base64_decode(text: &str) -> Vec<u8> {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = Vec::new();
        let mut acc = 0u32;
        let mut bits = 0;
        for b in text.bytes().filter(|&b| b != b'=') {
            let v = ALPHABET.iter().position(|&a| a == b).unwrap() as u32;
            acc = (acc << 6) | v;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
                acc &= (1 << bits) - 1;
            }
        }
        out
    }

    #[test]
    fn exact_key_policy_has_every_condition() {
        let post = PostPolicyInput::check("a.txt", false, "text/plain", 1, 10, 3600)
            .unwrap()
            .presign(&config(None), "uploads/a.txt", time());
        assert_eq!(post.url, "http://127.0.0.1:9000/my-bucket");
        assert_eq!(post.expires_at, 1_767_225_600 + 3600);
        let names: Vec<&str> = post.fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "key",
                "Content-Type",
                "x-amz-algorithm",
                "x-amz-credential",
                "x-amz-date",
                "policy",
                "x-amz-signature"
            ]
        );
        assert_eq!(field(&post, "key"), Some("uploads/a.txt"));
        assert_eq!(
            field(&post, "x-amz-credential"),
            Some("AKIDEXAMPLE/20260101/us-east-1/s3/aws4_request")
        );
        assert_eq!(field(&post, "x-amz-date"), Some("20260101T000000Z"));
        assert_eq!(
            decoded_policy(&post),
            "{\"expiration\":\"2026-01-01T01:00:00.000Z\",\"conditions\":[\
             {\"bucket\":\"my-bucket\"},\
             [\"eq\",\"$key\",\"uploads/a.txt\"],\
             [\"eq\",\"$Content-Type\",\"text/plain\"],\
             [\"content-length-range\",1,10],\
             {\"x-amz-algorithm\":\"AWS4-HMAC-SHA256\"},\
             {\"x-amz-credential\":\"AKIDEXAMPLE/20260101/us-east-1/s3/aws4_request\"},\
             {\"x-amz-date\":\"20260101T000000Z\"}]}"
        );
        for (_, value) in &post.fields {
            assert!(!value.contains(SECRET));
        }
    }

    #[test]
    fn prefix_policy_binds_the_folder() {
        let post = PostPolicyInput::check("user/42", true, "image/png", 0, 100, 60)
            .unwrap()
            .presign(&config(None), "user/42", time());
        assert_eq!(field(&post, "key"), Some("user/42/${filename}"));
        assert!(
            decoded_policy(&post).contains("[\"starts-with\",\"$key\",\"user/42/\"]"),
            "{}",
            decoded_policy(&post)
        );
    }

    #[test]
    fn session_token_is_a_field_and_a_condition() {
        let post = PostPolicyInput::check("k", false, "text/plain", 0, 1, 60)
            .unwrap()
            .presign(&config(Some("TOKEN+/=")), "k", time());
        assert_eq!(field(&post, "x-amz-security-token"), Some("TOKEN+/="));
        assert!(decoded_policy(&post).contains("{\"x-amz-security-token\":\"TOKEN+/=\"}"));
    }

    #[test]
    fn the_signature_is_sigv4_over_the_base64_policy() {
        // botocore 1.43.11's S3SigV4PostAuth, given the same credentials and
        // time, signed this policy (its own JSON, base64) with this signature.
        let policy = "eyJleHBpcmF0aW9uIjogIjIwMjYtMDEtMDFUMDE6MDA6MDAuMDAwWiIsICJjb25kaXRpb25zIjogW3siYnVja2V0IjogIm15LWJ1Y2tldCJ9LCBbImNvbnRlbnQtbGVuZ3RoLXJhbmdlIiwgMSwgMTBdLCB7IngtYW16LWFsZ29yaXRobSI6ICJBV1M0LUhNQUMtU0hBMjU2In0sIHsieC1hbXotY3JlZGVudGlhbCI6ICJBS0lERVhBTVBMRS8yMDI2MDEwMS91cy1lYXN0LTEvczMvYXdzNF9yZXF1ZXN0In0sIHsieC1hbXotZGF0ZSI6ICIyMDI2MDEwMVQwMDAwMDBaIn1dfQ==";
        assert_eq!(
            signing::sign_post_policy(&config(None), policy, time()),
            "a6d6a00e084db155d6a1079ca7df6b0794518bb1356dc871d38fed459dfdac5d"
        );
    }

    #[test]
    fn bad_arguments_are_refused() {
        let check =
            |key, ct, min, max, secs| PostPolicyInput::check(key, false, ct, min, max, secs);
        assert!(matches!(
            check("a/../b", "text/plain", 0, 1, 60),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            check("a\u{2028}b", "text/plain", 0, 1, 60),
            Err(Error::InvalidInput(_))
        ));
        assert!(
            matches!(check("k", " ", 0, 1, 60), Err(Error::InvalidInput(m)) if m.starts_with("content-type"))
        );
        assert!(
            matches!(check("k", "text/plain", 2, 1, 60), Err(Error::InvalidInput(m)) if m.contains("min-length"))
        );
        assert_eq!(
            check("k", "text/plain", 0, MAX_PUT_BYTES + 1, 60),
            Err(Error::TooLarge(MAX_PUT_BYTES))
        );
        assert!(
            matches!(check("k", "text/plain", 0, 1, 0), Err(Error::InvalidInput(m)) if m.starts_with("expires-in-secs"))
        );
        assert!(check("k", "text/plain", 0, MAX_PUT_BYTES, 604_800).is_ok());
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\u{1}"), "\"a\\\"b\\\\c\\u0001\"");
        assert_eq!(json_string("ü/日"), "\"ü/日\"");
    }
}
