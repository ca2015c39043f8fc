//! S3's error documents: `<Error><Code>…</Code><Message>…</Message></Error>`.
//!
//! Only `Code` and `Message` are kept. S3 (and compatible stores) add
//! elements that echo the request, such as `StringToSign`,
//! `CanonicalRequest` or `AWSAccessKeyId`: those never leave the component.

use crate::error::{Error, scrub};
use crate::xml;

/// How much of an error body is read, at most.
pub const MAX_ERROR_BODY: usize = 64 * 1024;

/// How long a returned message may be, in characters.
const MAX_MESSAGE_CHARS: usize = 1024;

/// The elements of an S3 error document we keep; the others are skipped.
#[derive(Debug, Default)]
struct ErrorDocument {
    code: String,
    message: String,
}

/// Turns a non-2xx answer into [`Error::Upstream`]: `code` and `message`
/// from the S3 error document in `body` when there is one, an empty code
/// and a generic message otherwise. Every `secret` is scrubbed from both.
pub fn upstream_error(status: u16, body: &[u8], secrets: &[&str]) -> Error {
    let document = parse(body).unwrap_or_default();
    let message = if document.message.trim().is_empty() {
        generic_message(status)
    } else {
        document.message
    };
    Error::Upstream {
        status,
        code: clean(&scrub(&document.code, secrets)),
        message: clean(&scrub(&message, secrets)),
    }
}

/// Parses an S3 error document, or returns `None` when `body` is not one
/// (empty, HTML from a proxy, truncated, another root element).
fn parse(body: &[u8]) -> Option<ErrorDocument> {
    // Lossy: a body cut at the read limit may end inside a character.
    let text = String::from_utf8_lossy(body);
    let document = xml::read(&text, &["Code", "Message"])?;
    if document.root != "Error" {
        return None;
    }
    Some(ErrorDocument {
        code: document.child("Code").unwrap_or_default().to_owned(),
        message: document.child("Message").unwrap_or_default().to_owned(),
    })
}

fn generic_message(status: u16) -> String {
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map(|r| format!(" {r}"))
        .unwrap_or_default();
    format!("storage answered HTTP {status}{reason} without an S3 error document")
}

/// Trims, replaces control characters with spaces and caps the length, so
/// that whatever a store sends stays a one-line, bounded message.
fn clean(text: &str) -> String {
    text.trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_MESSAGE_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(status: u16, body: &str, secrets: &[&str]) -> (u16, String, String) {
        match upstream_error(status, body.as_bytes(), secrets) {
            Error::Upstream {
                status,
                code,
                message,
            } => (status, code, message),
            other => panic!("not upstream: {other:?}"),
        }
    }

    #[test]
    fn parses_a_normal_error() {
        let body = r#"<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><BucketName>nope</BucketName><RequestId>4442587FB7D0A2F9</RequestId></Error>"#;
        assert_eq!(
            upstream(404, body, &[]),
            (
                404,
                "NoSuchBucket".into(),
                "The specified bucket does not exist".into()
            )
        );
    }

    #[test]
    fn drops_elements_that_echo_the_request() {
        let body = "<Error>\n  <Code>SignatureDoesNotMatch</Code>\n  \
            <Message>The request signature we calculated does not match the signature you provided.</Message>\n  \
            <AWSAccessKeyId>AKIDEXAMPLE</AWSAccessKeyId>\n  \
            <StringToSign>AWS4-HMAC-SHA256\n20260101T000000Z\n...</StringToSign>\n  \
            <SignatureProvided>abc</SignatureProvided>\n  \
            <StringToSignBytes>41 57 53</StringToSignBytes>\n  \
            <CanonicalRequest>PUT\n/my-bucket/k\n\nx-amz-security-token:TOKEN\n</CanonicalRequest>\n\
            </Error>";
        let (status, code, message) = upstream(403, body, &["SECRET", "TOKEN"]);
        assert_eq!(status, 403);
        assert_eq!(code, "SignatureDoesNotMatch");
        assert_eq!(
            message,
            "The request signature we calculated does not match the signature you provided."
        );
    }

    #[test]
    fn scrubs_secrets_from_code_and_message() {
        let body = "<Error><Code>Bad SECRET</Code>\
            <Message>key SECRET and token TOKEN were wrong</Message></Error>";
        let (_, code, message) = upstream(400, body, &["SECRET", "TOKEN"]);
        assert_eq!(code, "Bad [redacted]");
        assert_eq!(message, "key [redacted] and token [redacted] were wrong");
    }

    #[test]
    fn decodes_entities() {
        let body =
            "<Error><Code>InvalidArgument</Code><Message>a &amp; b &lt;c&gt;</Message></Error>";
        assert_eq!(upstream(400, body, &[]).2, "a & b <c>");
    }

    #[test]
    fn non_xml_and_empty_bodies_get_a_generic_message() {
        for body in [
            "",
            "upstream connect error",
            "<html><body>502 Bad Gateway</body></html>",
            "<Error><Code>Truncated",
            "<Error/>",
            "<Other><Code>X</Code><Message>Y</Message></Other>",
        ] {
            assert_eq!(
                upstream(502, body, &[]),
                (
                    502,
                    String::new(),
                    "storage answered HTTP 502 Bad Gateway without an S3 error document".into()
                ),
                "{body:?}"
            );
        }
    }

    #[test]
    fn missing_message_gets_a_generic_one() {
        let (_, code, message) = upstream(503, "<Error><Code>SlowDown</Code></Error>", &[]);
        assert_eq!(code, "SlowDown");
        assert_eq!(
            message,
            "storage answered HTTP 503 Service Unavailable without an S3 error document"
        );
        assert_eq!(
            upstream(599, "", &[]).2,
            "storage answered HTTP 599 without an S3 error document"
        );
    }

    #[test]
    fn messages_are_one_line_and_bounded() {
        let long = "x".repeat(5000);
        let body = format!("<Error><Code>C</Code><Message>line1\nline2 {long}</Message></Error>");
        let (_, _, message) = upstream(400, &body, &[]);
        assert!(message.starts_with("line1 line2 x"));
        assert_eq!(message.chars().count(), MAX_MESSAGE_CHARS);
    }

    #[test]
    fn invalid_utf8_does_not_panic() {
        let mut body = b"<Error><Code>C</Code><Message>caf".to_vec();
        body.extend_from_slice(&[0xC3]);
        assert_eq!(
            upstream_error(500, &body, &[]),
            Error::Upstream {
                status: 500,
                code: String::new(),
                message:
                    "storage answered HTTP 500 Internal Server Error without an S3 error document"
                        .into()
            }
        );
    }
}
