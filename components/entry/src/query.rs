//! Query-string parsing: just enough for `?by=N`.

use percent_encoding::percent_decode_str;

use crate::errors::HttpError;
use crate::key::decode;

/// Returns the value of the query parameter `name`, percent-decoded, or
/// `None` when absent. A parameter given twice is refused rather than
/// guessing which one the caller meant. Other parameters are ignored, even
/// when they are malformed.
pub fn param(query: Option<&str>, name: &str) -> Result<Option<String>, HttpError> {
    let mut found = None;
    for pair in query.unwrap_or_default().split('&') {
        if pair.is_empty() {
            continue;
        }
        let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        // Lossy on names: an unrelated malformed parameter must not fail the request.
        if percent_decode_str(raw_name).decode_utf8_lossy() != name {
            continue;
        }
        if found.is_some() {
            return Err(HttpError::InvalidInput(format!(
                "query parameter `{name}` is given more than once"
            )));
        }
        let value = decode(raw_value)
            .map_err(|err| HttpError::InvalidInput(format!("query parameter `{name}`: {err}")))?;
        found = Some(value);
    }
    Ok(found)
}

/// Parses the `by` parameter of `POST /counters/{name}`: a decimal `u64`,
/// 1 when absent.
pub fn parse_by(query: Option<&str>) -> Result<u64, HttpError> {
    let Some(value) = param(query, "by")? else {
        return Ok(1);
    };
    let invalid = |what: &str| {
        HttpError::InvalidInput(format!(
            "query parameter `by` {what}; expected a decimal number from 0 to {}",
            u64::MAX
        ))
    };
    if value.is_empty() {
        return Err(invalid("is empty"));
    }
    // Digits only: `u64::from_str` would also take a leading `+`.
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("is not a decimal number"));
    }
    value.parse().map_err(|_| invalid("is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(err: HttpError) -> String {
        assert_eq!(err.status(), 400);
        err.to_string()
    }

    #[test]
    fn finds_parameters() {
        assert_eq!(param(Some("a=1&by=5"), "by"), Ok(Some("5".into())));
        assert_eq!(param(Some("by=5&a=1"), "by"), Ok(Some("5".into())));
        assert_eq!(param(Some("by"), "by"), Ok(Some(String::new())));
        assert_eq!(param(Some("b%79=7"), "by"), Ok(Some("7".into())));
        assert_eq!(param(Some("x=%41"), "x"), Ok(Some("A".into())));
        assert_eq!(param(Some("&&by=2&"), "by"), Ok(Some("2".into())));
        assert_eq!(param(Some(""), "by"), Ok(None));
        assert_eq!(param(None, "by"), Ok(None));
        assert_eq!(param(Some("bye=1&xby=2"), "by"), Ok(None));
    }

    #[test]
    fn ignores_malformed_other_parameters() {
        assert_eq!(param(Some("x=%zz&by=3&%ff=%"), "by"), Ok(Some("3".into())));
    }

    #[test]
    fn refuses_duplicates_and_bad_encoding() {
        assert!(message(param(Some("by=1&by=2"), "by").unwrap_err()).contains("more than once"));
        assert!(message(param(Some("by=%zz"), "by").unwrap_err()).contains("`by`"));
    }

    #[test]
    fn by_defaults_to_one() {
        assert_eq!(parse_by(None), Ok(1));
        assert_eq!(parse_by(Some("other=x")), Ok(1));
    }

    #[test]
    fn by_parses_u64() {
        assert_eq!(parse_by(Some("by=0")), Ok(0));
        assert_eq!(parse_by(Some("by=42")), Ok(42));
        assert_eq!(parse_by(Some("by=007")), Ok(7));
        assert_eq!(parse_by(Some("by=18446744073709551615")), Ok(u64::MAX));
    }

    #[test]
    fn by_rejects_bad_numbers_naming_the_parameter() {
        for q in [
            "by=",
            "by",
            "by=-1",
            "by=abc",
            "by=+5",
            "by=1.5",
            "by=%201",
            "by=1e3",
            "by=%EF%BC%94",
        ] {
            let msg = message(parse_by(Some(q)).unwrap_err());
            assert!(msg.contains("`by`"), "{q}: {msg}");
        }
        let msg = message(parse_by(Some("by=18446744073709551616")).unwrap_err());
        assert!(msg.contains("too large"), "{msg}");
    }
}
