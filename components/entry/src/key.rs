//! Strict percent-decoding of path segments (object keys, counter names).
//!
//! `percent-encoding` passes a malformed `%` through unchanged; a key that
//! silently differs from what the client meant is worse than a 400, so
//! escapes are checked first.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;
use thiserror::Error;

/// Why a path segment could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// A `%` not followed by two hex digits.
    #[error("invalid percent-encoding at byte {at}")]
    BadEscape {
        /// Byte offset of the `%`.
        at: usize,
    },
    /// The decoded bytes are not UTF-8.
    #[error("percent-decodes to bytes that are not UTF-8")]
    NotUtf8,
}

/// Percent-decodes `raw` as UTF-8, refusing malformed escapes. `+` stays a
/// `+`: in a path it is not a space.
pub fn decode(raw: &str) -> Result<String, DecodeError> {
    let mut rest = raw.as_bytes();
    let mut offset = 0;
    while let Some(p) = rest.iter().position(|&b| b == b'%') {
        let escape_ok = rest
            .get(p + 1..p + 3)
            .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit));
        if !escape_ok {
            return Err(DecodeError::BadEscape { at: offset + p });
        }
        rest = rest.get(p + 3..).unwrap_or_default();
        offset += p + 3;
    }
    percent_decode_str(raw)
        .decode_utf8()
        .map(Cow::into_owned)
        .map_err(|_| DecodeError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_unchanged() {
        assert_eq!(decode("a/b/c.txt").as_deref(), Ok("a/b/c.txt"));
        assert_eq!(decode("").as_deref(), Ok(""));
        assert_eq!(decode("a+b").as_deref(), Ok("a+b"));
    }

    #[test]
    fn decodes_escapes() {
        assert_eq!(decode("a%20b").as_deref(), Ok("a b"));
        assert_eq!(decode("%2Fetc%2fpasswd").as_deref(), Ok("/etc/passwd"));
        assert_eq!(decode("caf%C3%A9").as_deref(), Ok("café"));
        assert_eq!(decode("%25").as_deref(), Ok("%"));
        assert_eq!(decode("%00").as_deref(), Ok("\0"));
    }

    #[test]
    fn rejects_malformed_escapes() {
        assert_eq!(decode("%"), Err(DecodeError::BadEscape { at: 0 }));
        assert_eq!(decode("ab%4"), Err(DecodeError::BadEscape { at: 2 }));
        assert_eq!(decode("%zz"), Err(DecodeError::BadEscape { at: 0 }));
        assert_eq!(decode("%41%g1"), Err(DecodeError::BadEscape { at: 3 }));
        assert_eq!(decode("%%41"), Err(DecodeError::BadEscape { at: 0 }));
    }

    #[test]
    fn rejects_invalid_utf8() {
        assert_eq!(decode("%FF"), Err(DecodeError::NotUtf8));
        assert_eq!(decode("%C3"), Err(DecodeError::NotUtf8));
        assert_eq!(decode("%C3%28"), Err(DecodeError::NotUtf8));
    }

    #[test]
    fn multibyte_raw_text_is_fine() {
        assert_eq!(decode("é%20é").as_deref(), Ok("é é"));
    }
}
