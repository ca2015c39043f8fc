//! The Redis commands the adapter sends, and how each is put on the wire.
//!
//! Every command but `SET` is a JSON array of strings posted to the
//! endpoint's root. `SET` carries a value that may be any bytes, which JSON
//! strings cannot hold, so it takes the Upstash path form: `POST
//! /set/<key>` with the raw value as the body, which the REST API appends
//! as the command's last argument.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// The bytes of a key left as they are in a URL path: RFC 3986's
/// unreserved characters. Everything else, `/` and `:` included, is
/// percent-encoded, so a key is always one path segment.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// How many keys `SCAN` is asked to look at per call.
pub const SCAN_COUNT: &str = "1000";

/// `Content-Type` of a JSON command.
pub const JSON: &str = "application/json";
/// `Content-Type` of a raw value.
pub const OCTET_STREAM: &str = "application/octet-stream";

/// One Redis command, with its (already prefixed) Redis key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command<'a> {
    /// `GET key`.
    Get {
        /// The Redis key.
        key: &'a str,
    },
    /// `SET key value`.
    Set {
        /// The Redis key.
        key: &'a str,
        /// The raw value.
        value: &'a [u8],
    },
    /// `DEL key`.
    Del {
        /// The Redis key.
        key: &'a str,
    },
    /// `EXISTS key`.
    Exists {
        /// The Redis key.
        key: &'a str,
    },
    /// `SCAN cursor MATCH pattern COUNT 1000`.
    Scan {
        /// Where to go on from (`0` starts).
        cursor: u64,
        /// The glob of the keys wanted.
        pattern: &'a str,
    },
    /// `INCRBY key delta`.
    IncrBy {
        /// The Redis key.
        key: &'a str,
        /// What to add.
        delta: i64,
    },
}

/// A command as an HTTP request, relative to the endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// The path under the endpoint's path prefix: `/` or `/set/<key>`.
    pub path: String,
    /// The request body.
    pub body: Vec<u8>,
    /// Its `Content-Type`.
    pub content_type: &'static str,
}

impl Command<'_> {
    /// The command's name, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Get { .. } => "GET",
            Command::Set { .. } => "SET",
            Command::Del { .. } => "DEL",
            Command::Exists { .. } => "EXISTS",
            Command::Scan { .. } => "SCAN",
            Command::IncrBy { .. } => "INCRBY",
        }
    }

    /// Whether sending the command again, after an answer was lost or a
    /// 5xx, is safe: every command but `INCRBY` gives the same outcome when
    /// carried out twice. An `INCRBY` whose answer was lost may have been
    /// applied, so a retry could count twice.
    pub fn is_idempotent(&self) -> bool {
        !matches!(self, Command::IncrBy { .. })
    }

    /// The command on the wire.
    pub fn encode(&self) -> Encoded {
        let json = |args: &[&str]| Encoded {
            path: "/".to_owned(),
            body: json_array(args),
            content_type: JSON,
        };
        match self {
            Command::Get { key } => json(&["GET", key]),
            Command::Del { key } => json(&["DEL", key]),
            Command::Exists { key } => json(&["EXISTS", key]),
            Command::Scan { cursor, pattern } => json(&[
                "SCAN",
                &cursor.to_string(),
                "MATCH",
                pattern,
                "COUNT",
                SCAN_COUNT,
            ]),
            Command::IncrBy { key, delta } => json(&["INCRBY", key, &delta.to_string()]),
            // The path form cannot carry an empty value (an empty body is
            // no argument at all); an empty string is safe as JSON.
            Command::Set { key, value: [] } => json(&["SET", key, ""]),
            Command::Set { key, value } => Encoded {
                path: format!("/set/{}", utf8_percent_encode(key, UNRESERVED)),
                body: value.to_vec(),
                content_type: OCTET_STREAM,
            },
        }
    }
}

/// `args` as a JSON array of strings.
fn json_array(args: &[&str]) -> Vec<u8> {
    // A `Value` of strings always serializes; the fallback is never taken.
    serde_json::to_vec(args).unwrap_or_else(|_| b"[]".to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(command: Command<'_>) -> String {
        let encoded = command.encode();
        assert_eq!(encoded.path, "/");
        assert_eq!(encoded.content_type, JSON);
        String::from_utf8(encoded.body).unwrap()
    }

    #[test]
    fn json_commands_are_arrays_of_strings() {
        assert_eq!(body(Command::Get { key: "b:k" }), r#"["GET","b:k"]"#);
        assert_eq!(body(Command::Del { key: "b:k" }), r#"["DEL","b:k"]"#);
        assert_eq!(body(Command::Exists { key: "b:k" }), r#"["EXISTS","b:k"]"#);
        assert_eq!(
            body(Command::IncrBy {
                key: "b:n",
                delta: -3
            }),
            r#"["INCRBY","b:n","-3"]"#
        );
        assert_eq!(
            body(Command::Scan {
                cursor: 17,
                pattern: r"b\*:*"
            }),
            r#"["SCAN","17","MATCH","b\\*:*","COUNT","1000"]"#
        );
        assert_eq!(
            body(Command::Get {
                key: "b:\"quoted\"\n"
            }),
            r#"["GET","b:\"quoted\"\n"]"#
        );
    }

    #[test]
    fn set_sends_the_raw_value_under_an_encoded_path() {
        let value = [0u8, 0xff, b'"', 0x80];
        let encoded = Command::Set {
            key: "p/b:a key?é~.-_",
            value: &value,
        }
        .encode();
        assert_eq!(encoded.path, "/set/p%2Fb%3Aa%20key%3F%C3%A9~.-_");
        let empty = Command::Set {
            key: "k",
            value: b"",
        }
        .encode();
        assert_eq!(empty.path, "/");
        assert_eq!(empty.body, br#"["SET","k",""]"#);
        assert_eq!(encoded.body, value);
        assert_eq!(encoded.content_type, OCTET_STREAM);
    }

    #[test]
    fn only_incrby_is_not_idempotent() {
        assert!(Command::Get { key: "k" }.is_idempotent());
        assert!(
            Command::Set {
                key: "k",
                value: b""
            }
            .is_idempotent()
        );
        assert!(Command::Del { key: "k" }.is_idempotent());
        assert!(Command::Exists { key: "k" }.is_idempotent());
        assert!(
            Command::Scan {
                cursor: 0,
                pattern: "*"
            }
            .is_idempotent()
        );
        assert!(!Command::IncrBy { key: "k", delta: 1 }.is_idempotent());
    }
}
