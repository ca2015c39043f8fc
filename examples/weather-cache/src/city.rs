//! The city in `/weather/{city}`: decoding, the rules a name must follow,
//! and the forms it takes as a cache key and in the upstream query.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use thiserror::Error;

/// The longest accepted name, in characters.
pub const MAX_CHARS: usize = 64;

/// What the upstream query escapes: everything but letters, digits and `-`
/// (so a space goes as `%20`, and non-ASCII letters as UTF-8 escapes).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-');

/// A city name that passed the rules: 1 to [`MAX_CHARS`] letters, spaces
/// and hyphens, beginning and ending with a letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct City(String);

/// Why a path segment is not a city name.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CityError {
    /// `/weather/` with nothing after it.
    #[error("the city is empty")]
    Empty,
    /// Longer than [`MAX_CHARS`] characters once decoded.
    #[error("the city is {0} characters long; at most 64 are allowed")]
    TooLong(usize),
    /// Percent escapes that decode to something other than UTF-8.
    #[error("the city is not valid UTF-8 once decoded")]
    NotUtf8,
    /// A character other than a letter, a space or a hyphen.
    #[error("the city may only hold letters, spaces (%20) and hyphens, not {0:?}")]
    BadChar(char),
    /// A leading or trailing space or hyphen: `Paris` and `Paris%20` would
    /// otherwise be two cache entries for one city.
    #[error("the city must begin and end with a letter")]
    BadEdge,
}

impl City {
    /// Decodes and checks one raw path segment, such as `New%20York`.
    pub fn parse(segment: &str) -> Result<Self, CityError> {
        let decoded = percent_decode_str(segment)
            .decode_utf8()
            .map_err(|_| CityError::NotUtf8)?;
        let chars = decoded.chars().count();
        if chars == 0 {
            return Err(CityError::Empty);
        }
        if chars > MAX_CHARS {
            return Err(CityError::TooLong(chars));
        }
        // A `%` that starts no valid escape survives decoding and is refused
        // here, like any other character outside the rules.
        if let Some(bad) = decoded
            .chars()
            .find(|c| !(c.is_alphabetic() || *c == ' ' || *c == '-'))
        {
            return Err(CityError::BadChar(bad));
        }
        let edges = [decoded.chars().next(), decoded.chars().last()];
        if edges.into_iter().flatten().any(|c| !c.is_alphabetic()) {
            return Err(CityError::BadEdge);
        }
        Ok(Self(decoded.into_owned()))
    }

    /// The name as decoded, such as `New York`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name lower-cased: one cache entry and one upstream query for
    /// `Paris` and `paris`.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }

    /// The key of the city's cache entry: `city:{lower-cased name}`.
    pub fn cache_key(&self) -> String {
        format!("city:{}", self.normalized())
    }

    /// The lower-cased name escaped for a query string, such as `new%20york`.
    pub fn query_value(&self) -> String {
        utf8_percent_encode(&self.normalized(), QUERY_VALUE).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_letters_spaces_and_hyphens_are_accepted() {
        for (segment, name) in [
            ("Paris", "Paris"),
            ("New%20York", "New York"),
            ("Stratford-upon-Avon", "Stratford-upon-Avon"),
            ("Z%C3%BCrich", "Zürich"),
            ("a", "a"),
        ] {
            assert_eq!(City::parse(segment).map(|c| c.0), Ok(name.to_owned()));
        }
    }

    #[test]
    fn the_length_limit_counts_characters() {
        assert!(City::parse(&"a".repeat(MAX_CHARS)).is_ok());
        assert_eq!(
            City::parse(&"a".repeat(MAX_CHARS + 1)),
            Err(CityError::TooLong(65))
        );
        // 64 two-byte letters are 128 bytes but 64 characters.
        assert!(City::parse(&"%C3%BC".repeat(MAX_CHARS)).is_ok());
    }

    #[test]
    fn other_characters_and_bad_escapes_are_refused() {
        assert_eq!(City::parse(""), Err(CityError::Empty));
        assert_eq!(City::parse("Paris1"), Err(CityError::BadChar('1')));
        assert_eq!(City::parse("New+York"), Err(CityError::BadChar('+')));
        assert_eq!(City::parse("a%2Fb"), Err(CityError::BadChar('/')));
        assert_eq!(City::parse("100%"), Err(CityError::BadChar('1')));
        assert_eq!(City::parse("Paris%zz"), Err(CityError::BadChar('%')));
        assert_eq!(City::parse("%FF"), Err(CityError::NotUtf8));
        assert_eq!(City::parse("%20Paris"), Err(CityError::BadEdge));
        assert_eq!(City::parse("Paris-"), Err(CityError::BadEdge));
    }

    #[test]
    fn the_key_and_query_use_the_lower_cased_name() {
        let city = City::parse("New%20York").expect("valid");
        assert_eq!(city.as_str(), "New York");
        assert_eq!(city.cache_key(), "city:new york");
        assert_eq!(city.query_value(), "new%20york");
        let city = City::parse("Z%C3%BCrich-Nord").expect("valid");
        assert_eq!(city.query_value(), "z%C3%BCrich-nord");
    }
}
