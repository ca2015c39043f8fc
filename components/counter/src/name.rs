//! Counter name validation.
//!
//! Names end up as key-value keys and in URLs, so they are restricted to a
//! small ASCII alphabet that needs no escaping anywhere.

use thiserror::Error;

/// The longest accepted counter name, in bytes.
pub const MAX_NAME_LEN: usize = 128;

/// Why a counter name was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NameError {
    /// The name is the empty string.
    #[error("counter name is empty")]
    Empty,
    /// The name is longer than [`MAX_NAME_LEN`] bytes.
    #[error("counter name is {len} bytes long; the limit is {MAX_NAME_LEN} bytes")]
    TooLong {
        /// The name's length in bytes.
        len: usize,
    },
    /// The name holds a character outside the allowed alphabet.
    #[error(
        "counter name contains {} at byte {at}, a character outside [A-Za-z0-9_.:-]",
        describe(*ch)
    )]
    BadChar {
        /// Byte offset of the offending character.
        at: usize,
        /// The offending character.
        ch: char,
    },
}

/// Names a character for an error message without echoing control or
/// invisible characters raw (they would garble logs and terminals).
fn describe(ch: char) -> String {
    if ch.is_alphanumeric() || ch.is_ascii_punctuation() {
        format!("'{ch}'")
    } else {
        format!("U+{:04X}", u32::from(ch))
    }
}

/// Returns whether `c` may appear in a counter name.
fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':')
}

/// Checks that `name` is 1 to 128 bytes of `[A-Za-z0-9_.:-]`.
pub fn validate_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    // Report a bad character before the length: it is the more useful hint.
    if let Some((at, ch)) = name.char_indices().find(|&(_, c)| !allowed(c)) {
        return Err(NameError::BadChar { at, ch });
    }
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong { len: name.len() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_whole_alphabet() {
        assert_eq!(validate_name("page_views"), Ok(()));
        assert_eq!(validate_name("a"), Ok(()));
        assert_eq!(validate_name("Rate-Limit:user.42_x"), Ok(()));
        assert_eq!(validate_name("0123456789"), Ok(()));
    }

    #[test]
    fn rejects_empty() {
        assert_eq!(validate_name(""), Err(NameError::Empty));
        assert_eq!(NameError::Empty.to_string(), "counter name is empty");
    }

    #[test]
    fn length_limit_is_128_bytes() {
        assert_eq!(validate_name(&"a".repeat(128)), Ok(()));
        let err = validate_name(&"a".repeat(129)).unwrap_err();
        assert_eq!(err, NameError::TooLong { len: 129 });
        assert_eq!(
            err.to_string(),
            "counter name is 129 bytes long; the limit is 128 bytes"
        );
    }

    #[test]
    fn rejects_unicode() {
        let err = validate_name("café").unwrap_err();
        assert_eq!(err, NameError::BadChar { at: 3, ch: 'é' });
        assert_eq!(
            err.to_string(),
            "counter name contains 'é' at byte 3, a character outside [A-Za-z0-9_.:-]"
        );
    }

    #[test]
    fn rejects_space_and_slash() {
        assert_eq!(
            validate_name("a b"),
            Err(NameError::BadChar { at: 1, ch: ' ' })
        );
        assert_eq!(
            validate_name("a/b"),
            Err(NameError::BadChar { at: 1, ch: '/' })
        );
        assert!(
            validate_name("a b")
                .unwrap_err()
                .to_string()
                .contains("U+0020")
        );
        assert!(
            validate_name("a/b")
                .unwrap_err()
                .to_string()
                .contains("'/'")
        );
    }

    #[test]
    fn never_echoes_control_characters() {
        for bad in ["a\nb", "\u{1b}[31m", "a\u{0}", "x\u{7f}", "a\u{200b}b"] {
            let msg = validate_name(bad).unwrap_err().to_string();
            assert!(!msg.chars().any(char::is_control), "{msg:?}");
            assert!(!msg.contains('\u{200b}'), "{msg:?}");
            assert!(msg.contains("U+"), "{msg:?}");
        }
    }

    #[test]
    fn bad_character_wins_over_length() {
        let name = format!("{}/", "a".repeat(200));
        assert_eq!(
            validate_name(&name),
            Err(NameError::BadChar { at: 200, ch: '/' })
        );
    }
}
