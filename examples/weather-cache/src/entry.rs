//! A cache entry: the upstream's answer and when it was fetched, as stored
//! in `wasi:keyvalue`.
//!
//! The stored form is three text lines, then the body as sent:
//!
//! ```text
//! weather-cache/1
//! {fetched at, seconds since the Unix epoch}
//! {content type}
//! {body}
//! ```
//!
//! Plain text, so that an operator can read an entry with any KV tool, and
//! the body is kept byte for byte whatever it is.

use thiserror::Error;

/// The first line of every entry; a different one is another format.
const MAGIC: &str = "weather-cache/1";

/// One cached forecast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// When it was fetched, in seconds since the Unix epoch.
    pub fetched_at: u64,
    /// The upstream's `content-type`.
    pub content_type: String,
    /// The upstream's body.
    pub body: Vec<u8>,
}

/// A stored value that is not an entry (written by something else, or
/// by another version): the cache treats it as a miss.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EntryError {
    /// The first line is not `weather-cache/1`.
    #[error("not a weather-cache/1 entry")]
    UnknownFormat,
    /// The header lines are cut short or malformed.
    #[error("a malformed entry: {0}")]
    Malformed(&'static str),
}

impl Entry {
    /// The stored form.
    pub fn encode(&self) -> Vec<u8> {
        // A content type cannot hold a line break (HTTP forbids it in
        // header values); strip any anyway so the format stays parseable.
        let content_type: String = self
            .content_type
            .chars()
            .filter(|c| *c != '\n' && *c != '\r')
            .collect();
        let mut bytes = format!("{MAGIC}\n{}\n{content_type}\n", self.fetched_at).into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }

    /// Reads the stored form back.
    pub fn decode(bytes: &[u8]) -> Result<Self, EntryError> {
        let mut rest = bytes;
        let mut line = || -> Result<&[u8], EntryError> {
            let end = rest
                .iter()
                .position(|b| *b == b'\n')
                .ok_or(EntryError::Malformed("a header line is unterminated"))?;
            let (line, after) = rest.split_at(end);
            rest = &after[1..];
            Ok(line)
        };
        if line()? != MAGIC.as_bytes() {
            return Err(EntryError::UnknownFormat);
        }
        let fetched_at = std::str::from_utf8(line()?)
            .ok()
            .and_then(|text| text.parse().ok())
            .ok_or(EntryError::Malformed("the fetch time is not a number"))?;
        let content_type = std::str::from_utf8(line()?)
            .map_err(|_| EntryError::Malformed("the content type is not UTF-8"))?
            .to_owned();
        Ok(Self {
            fetched_at,
            content_type,
            body: rest.to_vec(),
        })
    }

    /// Seconds since it was fetched (0 for a fetch time ahead of `now`).
    pub fn age(&self, now: u64) -> u64 {
        now.saturating_sub(self.fetched_at)
    }

    /// Whether it may still be served at `now`: fetched less than
    /// `ttl_secs` ago. A fetch time that far ahead of `now` is not trusted
    /// either (a clock gone wrong would otherwise pin the entry forever).
    pub fn is_fresh(&self, now: u64, ttl_secs: u64) -> bool {
        self.fetched_at.abs_diff(now) < ttl_secs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(body: &[u8]) -> Entry {
        Entry {
            fetched_at: 1_700_000_000,
            content_type: "application/json; charset=utf-8".into(),
            body: body.to_vec(),
        }
    }

    #[test]
    fn entries_round_trip_whatever_the_body() {
        for body in [
            &b"{\"temp\":21}"[..],
            b"",
            b"line\nbreaks\n\n",
            &[0, 0xff, b'\n'],
        ] {
            let entry = entry(body);
            assert_eq!(Entry::decode(&entry.encode()), Ok(entry));
        }
    }

    #[test]
    fn the_stored_form_is_readable_text() {
        assert_eq!(
            entry(b"{}").encode(),
            b"weather-cache/1\n1700000000\napplication/json; charset=utf-8\n{}"
        );
    }

    #[test]
    fn a_line_break_in_the_content_type_cannot_break_the_format() {
        let mut sneaky = entry(b"{}");
        sneaky.content_type = "text/plain\n42".into();
        let decoded = Entry::decode(&sneaky.encode()).expect("decodes");
        assert_eq!(decoded.content_type, "text/plain42");
        assert_eq!(decoded.body, b"{}");
    }

    #[test]
    fn other_values_are_not_entries() {
        assert_eq!(
            Entry::decode(b"{\"temp\":21}"),
            Err(EntryError::Malformed("a header line is unterminated"))
        );
        assert_eq!(
            Entry::decode(b"weather-cache/2\n1\nx\n"),
            Err(EntryError::UnknownFormat)
        );
        assert_eq!(
            Entry::decode(b"weather-cache/1\nsoon\nx\n{}"),
            Err(EntryError::Malformed("the fetch time is not a number"))
        );
        assert_eq!(
            Entry::decode(b"weather-cache/1\n1\n"),
            Err(EntryError::Malformed("a header line is unterminated"))
        );
    }

    #[test]
    fn an_entry_is_fresh_for_less_than_the_ttl() {
        let entry = entry(b"{}");
        let fetched = entry.fetched_at;
        assert!(entry.is_fresh(fetched, 300));
        assert!(entry.is_fresh(fetched + 299, 300));
        assert!(!entry.is_fresh(fetched + 300, 300));
        assert!(!entry.is_fresh(fetched + 10_000, 300));
        assert_eq!(entry.age(fetched + 299), 299);
    }

    #[test]
    fn a_zero_ttl_is_never_fresh_and_the_future_is_not_trusted() {
        let entry = entry(b"{}");
        assert!(!entry.is_fresh(entry.fetched_at, 0));
        // A little clock skew between machines is fine; a year is not.
        assert!(entry.is_fresh(entry.fetched_at - 5, 300));
        assert_eq!(entry.age(entry.fetched_at - 5), 0);
        assert!(!entry.is_fresh(entry.fetched_at - 365 * 86_400, 300));
    }
}
