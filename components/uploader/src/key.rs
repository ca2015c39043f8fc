//! Object keys: what the uploader accepts, and how a key becomes a URL path.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::error::Error;

/// The longest key S3 accepts, in bytes of UTF-8.
pub const MAX_KEY_BYTES: usize = 1024;

/// Everything but RFC 3986's unreserved characters is escaped: this is the
/// encoding SigV4 canonicalises to, so the path we send is already canonical.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Why a key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The key is the empty string.
    #[error("key must not be empty")]
    Empty,
    /// The key is longer than [`MAX_KEY_BYTES`].
    #[error("key is {0} bytes long; the limit is {MAX_KEY_BYTES}")]
    TooLong(usize),
    /// The key holds a control character (C0, DEL or C1). The message names
    /// it by code point rather than echoing it raw.
    #[error("key contains the control character U+{code:04X} at byte {offset}")]
    ControlCharacter {
        /// The character's code point.
        code: u32,
        /// Its byte offset in the key.
        offset: usize,
    },
    /// The key holds a character that changes how text around it is shown
    /// without showing itself: a bidi control, a zero-width character, or a
    /// line or paragraph separator. Such a key can look like another one in
    /// a listing or a log line. Named by code point, never echoed.
    #[error("key contains the invisible or reordering character U+{code:04X} at byte {offset}")]
    InvisibleCharacter {
        /// The character's code point.
        code: u32,
        /// Its byte offset in the key.
        offset: usize,
    },
    /// The key starts with `/`.
    #[error("key must not start with `/`")]
    LeadingSlash,
    /// The key ends with `/`.
    #[error("key must not end with `/`")]
    TrailingSlash,
    /// The key holds `//`.
    #[error("key must not contain an empty segment (`//`)")]
    EmptySegment,
    /// The key holds a `.` or `..` segment.
    #[error("key must not contain a `.` or `..` segment")]
    DotSegment,
}

impl From<KeyError> for Error {
    fn from(err: KeyError) -> Self {
        Error::InvalidInput(err.to_string())
    }
}

/// Whether `c` is a bidi control (U+202A–U+202E, U+2066–U+2069, U+200E,
/// U+200F, U+061C), a zero-width character (U+200B–U+200D, U+2060, U+FEFF)
/// or a line or paragraph separator (U+2028, U+2029).
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{061C}'
            | '\u{200B}'..='\u{200D}'
            | '\u{2060}'
            | '\u{FEFF}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

/// Checks that `key` is a key the uploader will store.
///
/// Keys are 1 to [`MAX_KEY_BYTES`] bytes of UTF-8 without control
/// characters or [invisible ones](is_invisible), made of non-empty `/`-separated segments none of which is `.`
/// or `..`. Dot segments and empty segments are refused because URL
/// normalisation (in proxies, browsers and some stores) would silently turn
/// them into a different key.
pub fn validate(key: &str) -> Result<(), KeyError> {
    if key.is_empty() {
        return Err(KeyError::Empty);
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(KeyError::TooLong(key.len()));
    }
    if let Some((offset, c)) = key.char_indices().find(|(_, c)| c.is_control()) {
        return Err(KeyError::ControlCharacter {
            code: u32::from(c),
            offset,
        });
    }
    if let Some((offset, c)) = key.char_indices().find(|(_, c)| is_invisible(*c)) {
        return Err(KeyError::InvisibleCharacter {
            code: u32::from(c),
            offset,
        });
    }
    if key.starts_with('/') {
        return Err(KeyError::LeadingSlash);
    }
    if key.ends_with('/') {
        return Err(KeyError::TrailingSlash);
    }
    for segment in key.split('/') {
        match segment {
            "" => return Err(KeyError::EmptySegment),
            "." | ".." => return Err(KeyError::DotSegment),
            _ => {}
        }
    }
    Ok(())
}

/// Percent-encodes `text` as one URL component: RFC 3986's unreserved
/// characters stay, every other byte becomes `%XX` (upper-case hex). Used
/// for key segments and query parameters.
pub fn encode_component(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

/// Percent-encodes `key` for a URL path: each segment keeps RFC 3986's
/// unreserved characters and escapes every other byte as `%XX` (upper-case
/// hex); the `/` between segments is kept.
pub fn encode(key: &str) -> String {
    let mut out = String::with_capacity(key.len() * 3);
    for (i, segment) in key.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.extend(utf8_percent_encode(segment, SEGMENT));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_keys() {
        for key in [
            "a",
            "photos/2026/cat.jpg",
            "a.b/c..d/...",
            "space in name",
            "ünïcödé/日本語",
            "100%+plus",
            ".hidden/..also",
            "~tilde",
        ] {
            assert_eq!(validate(key), Ok(()), "{key:?}");
        }
        assert_eq!(validate(&"k".repeat(MAX_KEY_BYTES)), Ok(()));
    }

    #[test]
    fn refuses_empty_and_too_long_keys() {
        assert_eq!(validate(""), Err(KeyError::Empty));
        assert_eq!(
            validate(&"k".repeat(MAX_KEY_BYTES + 1)),
            Err(KeyError::TooLong(MAX_KEY_BYTES + 1))
        );
        // The limit is in bytes, not characters: 342 × 3 bytes = 1026.
        assert_eq!(validate(&"€".repeat(342)), Err(KeyError::TooLong(1026)));
    }

    #[test]
    fn refuses_control_characters_and_names_them_safely() {
        for (key, code, offset) in [
            ("a\0b", 0x00, 1),
            ("tab\there", 0x09, 3),
            ("new\nline", 0x0A, 3),
            ("del\u{7f}", 0x7F, 3),
            ("c1\u{85}", 0x85, 2),
            ("é\u{9f}", 0x9F, 2),
        ] {
            let err = validate(key).unwrap_err();
            assert_eq!(err, KeyError::ControlCharacter { code, offset });
            let message = err.to_string();
            assert!(!message.chars().any(char::is_control), "{message:?}");
            assert!(message.contains(&format!("U+{code:04X}")));
        }
    }

    #[test]
    fn refuses_bidi_zero_width_and_separator_characters() {
        for c in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}', '\u{200B}', '\u{200C}',
            '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{2028}', '\u{2029}',
        ] {
            let key = format!("invoice{c}gpj.exe");
            let err = validate(&key).unwrap_err();
            assert_eq!(
                err,
                KeyError::InvisibleCharacter {
                    code: u32::from(c),
                    offset: 7
                }
            );
            let message = err.to_string();
            assert!(!message.contains(c), "{message:?}");
            assert!(message.contains(&format!("U+{:04X}", u32::from(c))));
        }
        // Neighbours of the refused ranges stay valid.
        for c in [
            '\u{200A}', '\u{2010}', '\u{2027}', '\u{202F}', '\u{206A}', '\u{FEFE}',
        ] {
            let key = format!("a{c}b");
            assert_eq!(validate(&key), Ok(()), "{key:?}");
        }
    }

    #[test]
    fn refuses_bad_segments() {
        assert_eq!(validate("/a"), Err(KeyError::LeadingSlash));
        assert_eq!(validate("/"), Err(KeyError::LeadingSlash));
        assert_eq!(validate("a/"), Err(KeyError::TrailingSlash));
        assert_eq!(validate("a//b"), Err(KeyError::EmptySegment));
        for key in [".", "..", "a/./b", "a/../b", "a/..", "./a", "../a"] {
            assert_eq!(validate(key), Err(KeyError::DotSegment), "{key:?}");
        }
    }

    #[test]
    fn key_errors_are_invalid_input() {
        assert_eq!(
            Error::from(KeyError::LeadingSlash),
            Error::InvalidInput("key must not start with `/`".into())
        );
    }

    #[test]
    fn encodes_segments_and_keeps_slashes() {
        assert_eq!(encode("a/b/c.txt"), "a/b/c.txt");
        assert_eq!(encode("A-Z_a.z~0-9"), "A-Z_a.z~0-9");
        assert_eq!(encode("space here"), "space%20here");
        assert_eq!(encode("a+b"), "a%2Bb");
        assert_eq!(encode("100%"), "100%25");
        assert_eq!(encode("already%20encoded"), "already%2520encoded");
        assert_eq!(encode("ü/日"), "%C3%BC/%E6%97%A5");
        assert_eq!(encode("q?x#y&z=1"), "q%3Fx%23y%26z%3D1");
        assert_eq!(encode("a:b@c!$'()*,;"), "a%3Ab%40c%21%24%27%28%29%2A%2C%3B");
    }
}
