//! Strict percent-decoding of path segments (object keys, counter names),
//! and the entry's own check on object keys.
//!
//! `percent-encoding` passes a malformed `%` through unchanged; a key that
//! silently differs from what the client meant is worse than a 400, so
//! escapes are checked first.
//!
//! The uploader validates keys fully; the entry refuses, before anything
//! else sees the key, the characters that make a key look like another one
//! ([`check_object_key`]), so that no route (upload, presign, POST policy)
//! can mint such a key even through another uploader.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;
use thiserror::Error;

use crate::errors::HttpError;

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

/// Whether `ch` can make a key display as something it is not: bidi
/// controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069),
/// zero-width characters (U+200B–U+200D, U+2060, U+FEFF) and the line and
/// paragraph separators (U+2028, U+2029).
pub fn is_disguising(ch: char) -> bool {
    matches!(
        ch,
        '\u{061C}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

/// Refuses an object key (or key prefix) holding a control character or a
/// disguising one ([`is_disguising`]), naming it by code point and byte
/// offset, never echoing it. `what` names the key in the message.
pub fn check_object_key(key: &str, what: &str) -> Result<(), HttpError> {
    match key
        .char_indices()
        .find(|&(_, ch)| ch.is_control() || is_disguising(ch))
    {
        None => Ok(()),
        Some((at, ch)) => Err(HttpError::InvalidInput(format!(
            "{what} contains U+{:04X} at byte {at}: control, bidi, zero-width and line \
             or paragraph separator characters are not allowed in keys",
            u32::from(ch)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disguising_characters_are_refused_by_code_point() {
        for ch in [
            '\u{061C}', '\u{200B}', '\u{200C}', '\u{200D}', '\u{200E}', '\u{200F}', '\u{2028}',
            '\u{2029}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2060}',
            '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{FEFF}', '\n', '\u{0}', '\u{7F}',
            '\u{85}',
        ] {
            let key = format!("invoice{ch}fdp.exe");
            let err = check_object_key(&key, "object key").unwrap_err();
            assert_eq!(err.status(), 400, "{ch:?}");
            let message = err.to_string();
            assert!(
                message.contains(&format!("U+{:04X} at byte 7", u32::from(ch))),
                "{message}"
            );
            assert!(!message.contains(ch), "{message:?}");
        }
    }

    #[test]
    fn ordinary_unicode_keys_pass() {
        for key in [
            "a/b.txt",
            "café/ü.png",
            "日本/写真.jpg",
            "a b+c",
            "emoji-😀",
            "",
        ] {
            assert_eq!(check_object_key(key, "object key"), Ok(()), "{key}");
        }
        // Neighbours of the refused ranges are fine.
        for ch in ['\u{2010}', '\u{202F}', '\u{2065}', '\u{206A}', '\u{FEFE}'] {
            assert_eq!(check_object_key(&ch.to_string(), "k"), Ok(()), "{ch:?}");
        }
    }

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
