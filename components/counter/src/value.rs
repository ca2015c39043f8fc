//! Parsing stored counter values.
//!
//! Values are stored as ASCII decimal (that is what `wasi:keyvalue` hosts
//! write for `atomics.increment`, and other tools can read it).

use thiserror::Error;

/// Why a stored value is not a counter value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValueError {
    /// The value is not (only) ASCII decimal digits.
    #[error("not a decimal number")]
    NotDecimal,
    /// The value is decimal but larger than `u64::MAX`.
    #[error("too large for a 64-bit counter")]
    Overflow,
}

/// Parses a stored value: ASCII decimal digits, with surrounding ASCII
/// whitespace ignored (a value set by hand often ends in a newline).
pub fn parse_value(bytes: &[u8]) -> Result<u64, ValueError> {
    let digits = bytes.trim_ascii();
    // `u64::from_str` also accepts a leading `+`; a stored counter never has one.
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(ValueError::NotDecimal);
    }
    digits.iter().try_fold(0u64, |acc, &d| {
        acc.checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d - b'0')))
            .ok_or(ValueError::Overflow)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimal() {
        assert_eq!(parse_value(b"0"), Ok(0));
        assert_eq!(parse_value(b"42"), Ok(42));
        assert_eq!(parse_value(b"007"), Ok(7));
    }

    #[test]
    fn trims_ascii_whitespace() {
        assert_eq!(parse_value(b" 42\n"), Ok(42));
        assert_eq!(parse_value(b"\t\r\n17 \x0c"), Ok(17));
    }

    #[test]
    fn rejects_non_decimal() {
        for bad in [
            &b"abc"[..],
            b"",
            b"   ",
            b"+5",
            b"-1",
            b"4 2",
            b"1.5",
            b"0x10",
            b"\xff\xfe",
            "４２".as_bytes(),
        ] {
            assert_eq!(parse_value(bad), Err(ValueError::NotDecimal), "{bad:?}");
        }
    }

    #[test]
    fn u64_max_fits() {
        assert_eq!(parse_value(b"18446744073709551615"), Ok(u64::MAX));
    }

    #[test]
    fn overflow_is_reported() {
        assert_eq!(
            parse_value(b"18446744073709551616"),
            Err(ValueError::Overflow)
        );
        assert_eq!(
            parse_value(b"99999999999999999999999"),
            Err(ValueError::Overflow)
        );
    }
}
