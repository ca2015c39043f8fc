//! Limits on `POST /counters/{name}?by=N`: how much one request may add.
//!
//! Without a ceiling one request could add `u64::MAX` and pin a counter at
//! its maximum; `max-increment` (default 100) keeps every step small, so a
//! counter only reaches its maximum after an absurd number of requests.

use crate::errors::HttpError;

/// Config key holding the largest `by` one request may add.
pub const KEY_MAX_INCREMENT: &str = "max-increment";
/// The default ceiling on `by`.
pub const DEFAULT_MAX_INCREMENT: u64 = 100;

/// Reads the ceiling from the `max-increment` config value: unset or blank
/// is [`DEFAULT_MAX_INCREMENT`]; otherwise a decimal number of at least 1
/// (surrounding whitespace allowed), or the server is misconfigured (500).
pub fn max_increment(config_value: Option<&str>) -> Result<u64, HttpError> {
    let Some(value) = config_value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(DEFAULT_MAX_INCREMENT);
    };
    let parsed = value
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| value.parse::<u64>().ok())
        .flatten();
    match parsed {
        Some(max @ 1..) => Ok(max),
        _ => Err(HttpError::Internal(format!(
            "config key `{KEY_MAX_INCREMENT}` must be a whole number of at least 1"
        ))),
    }
}

/// Checks `by` against the ceiling: 1 to `max` (400 otherwise). A `by` of
/// 0 changes nothing and would only create a stored key: a read is
/// `GET /counters/{name}`.
pub fn check_by(by: u64, max: u64) -> Result<(), HttpError> {
    if (1..=max).contains(&by) {
        return Ok(());
    }
    Err(HttpError::InvalidInput(format!(
        "query parameter `by` is {by}; one request may add from 1 to {max} \
         (the server's `{KEY_MAX_INCREMENT}`)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_defaults_to_100() {
        assert_eq!(max_increment(None), Ok(100));
        assert_eq!(max_increment(Some(" ")), Ok(100));
        assert_eq!(max_increment(Some("5\n")), Ok(5));
        assert_eq!(max_increment(Some("18446744073709551615")), Ok(u64::MAX));
    }

    #[test]
    fn a_bad_ceiling_is_500_naming_the_key() {
        for bad in ["0", "-1", "+5", "ten", "1e3", "18446744073709551616"] {
            let err = max_increment(Some(bad)).unwrap_err();
            assert_eq!(err.status(), 500, "{bad}");
            assert!(err.to_string().contains("`max-increment`"), "{err}");
        }
    }

    #[test]
    fn by_must_be_from_1_to_the_ceiling() {
        assert_eq!(check_by(1, 100), Ok(()));
        assert_eq!(check_by(100, 100), Ok(()));
        for by in [0, 101, u64::MAX] {
            let err = check_by(by, 100).unwrap_err();
            assert_eq!(err.status(), 400, "{by}");
            assert_eq!(
                err.to_string(),
                format!(
                    "query parameter `by` is {by}; one request may add from 1 to 100 \
                     (the server's `max-increment`)"
                )
            );
        }
    }
}
