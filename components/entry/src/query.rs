//! Query-string parsing, as HTML forms and `URLSearchParams` encode it:
//! `name=value` pairs joined by `&`, percent-encoded, with `+` for a space
//! (so `text/plain;+charset=utf-8` is `text/plain; charset=utf-8`, and a
//! literal `+` is `%2B`).

use percent_encoding::percent_decode_str;

use crate::errors::HttpError;
use crate::key::decode;

/// Decodes one query name or value: `+` is a space, then strict
/// percent-decoding ([`decode`]). `+` and space are one byte each, so error
/// offsets still point into the raw text.
pub fn decode_component(raw: &str) -> Result<String, crate::key::DecodeError> {
    decode(&raw.replace('+', " "))
}

/// Returns the value of the query parameter `name`, decoded as
/// [`decode_component`] does, or `None` when absent. A parameter given twice is refused rather than
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
        if percent_decode_str(&raw_name.replace('+', " ")).decode_utf8_lossy() != name {
            continue;
        }
        if found.is_some() {
            return Err(HttpError::InvalidInput(format!(
                "query parameter `{name}` is given more than once"
            )));
        }
        let value = decode_component(raw_value)
            .map_err(|err| HttpError::InvalidInput(format!("query parameter `{name}`: {err}")))?;
        found = Some(value);
    }
    Ok(found)
}

/// Parses the query parameter `name` as a decimal `u64` (digits only), or
/// `None` when absent. `expected` completes the error message ("a number of
/// bytes").
pub fn u64_param(
    query: Option<&str>,
    name: &str,
    expected: &str,
) -> Result<Option<u64>, HttpError> {
    let Some(value) = param(query, name)? else {
        return Ok(None);
    };
    let invalid = |what: &str| {
        HttpError::InvalidInput(format!(
            "query parameter `{name}` {what}; expected {expected}"
        ))
    };
    if value.is_empty() {
        return Err(invalid("is empty"));
    }
    // Digits only: `u64::from_str` would also take a leading `+`.
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("is not a decimal number"));
    }
    value.parse().map(Some).map_err(|_| invalid("is too large"))
}

/// Like [`u64_param`], but an absent parameter is a 400 naming it.
pub fn required_u64_param(
    query: Option<&str>,
    name: &str,
    expected: &str,
) -> Result<u64, HttpError> {
    u64_param(query, name, expected)?.ok_or_else(|| {
        HttpError::InvalidInput(format!(
            "query parameter `{name}` is required; expected {expected}"
        ))
    })
}

/// Parses the query parameter `name` as `true` or `false` (exactly), `false`
/// when absent.
pub fn bool_param(query: Option<&str>, name: &str) -> Result<bool, HttpError> {
    match param(query, name)?.as_deref() {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(HttpError::InvalidInput(format!(
            "query parameter `{name}` must be `true` or `false`"
        ))),
    }
}

/// Parses the `by` parameter of `POST /counters/{name}`: a decimal `u64`,
/// 1 when absent. Its range (1 to `max-increment`) is checked once the
/// configuration is read.
pub fn parse_by(query: Option<&str>) -> Result<u64, HttpError> {
    Ok(u64_param(query, "by", "a whole number such as 1")?.unwrap_or(1))
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
    fn plus_is_a_space_and_percent_2b_a_plus() {
        assert_eq!(
            param(
                Some("content_type=text%2Fplain;+charset=utf-8"),
                "content_type"
            ),
            Ok(Some("text/plain; charset=utf-8".into()))
        );
        assert_eq!(
            param(Some("content_type=image/svg%2Bxml"), "content_type"),
            Ok(Some("image/svg+xml".into()))
        );
        assert_eq!(param(Some("a+b=1"), "a b"), Ok(Some("1".into())));
        assert_eq!(param(Some("x=a++b"), "x"), Ok(Some("a  b".into())));
    }

    #[test]
    fn decode_errors_point_into_the_raw_text() {
        let msg = message(param(Some("x=a+b%zz"), "x").unwrap_err());
        assert!(msg.contains("byte 3"), "{msg}");
    }

    #[test]
    fn u64_parameters() {
        assert_eq!(u64_param(None, "n", "a size"), Ok(None));
        assert_eq!(u64_param(Some("n=0"), "n", "a size"), Ok(Some(0)));
        assert_eq!(u64_param(Some("n=12"), "n", "a size"), Ok(Some(12)));
        for q in [
            "n=",
            "n=+1",
            "n=1+",
            "n=-1",
            "n=1e3",
            "n=18446744073709551616",
        ] {
            let msg = message(u64_param(Some(q), "n", "a size").unwrap_err());
            assert!(msg.contains("`n`") && msg.contains("a size"), "{q}: {msg}");
        }
        let msg = message(required_u64_param(Some("m=1"), "n", "a size").unwrap_err());
        assert_eq!(msg, "query parameter `n` is required; expected a size");
        assert_eq!(required_u64_param(Some("n=5"), "n", "a size"), Ok(5));
    }

    #[test]
    fn bool_parameters_are_exactly_true_or_false() {
        assert_eq!(bool_param(None, "prefix"), Ok(false));
        assert_eq!(bool_param(Some("prefix=false"), "prefix"), Ok(false));
        assert_eq!(bool_param(Some("prefix=true"), "prefix"), Ok(true));
        for q in ["prefix", "prefix=", "prefix=1", "prefix=TRUE", "prefix=yes"] {
            let msg = message(bool_param(Some(q), "prefix").unwrap_err());
            assert!(msg.contains("`prefix`"), "{q}: {msg}");
        }
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
            "by=+1",
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
