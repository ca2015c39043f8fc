//! Redis replies, written as the REST protocol's JSON.

use base64_simd::STANDARD;
use serde_json::{Value, json};

/// A Redis reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A missing value: `null`.
    Nil,
    /// An integer.
    Integer(i64),
    /// A bulk string: a stored value or a key, any bytes.
    Bulk(Vec<u8>),
    /// A status such as `OK` or `PONG`.
    Status(&'static str),
    /// An array of replies (`SCAN`'s answer).
    Array(Vec<Reply>),
}

/// How strings go into JSON: as they are, or base64 (the client sent
/// `Upstash-Encoding: base64`), which carries any bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 text; a value that is not UTF-8 is an error, never mangled.
    Text,
    /// Base64 of the raw bytes, for every string in the result.
    Base64,
}

impl Reply {
    /// The JSON `result`, or an error message when a value cannot be
    /// written in `encoding`.
    pub fn to_json(&self, encoding: Encoding) -> Result<Value, String> {
        Ok(match self {
            Reply::Nil => Value::Null,
            Reply::Integer(n) => json!(n),
            Reply::Status(text) => string(text.as_bytes(), encoding)?,
            Reply::Bulk(bytes) => string(bytes, encoding)?,
            Reply::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| item.to_json(encoding))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }
}

fn string(bytes: &[u8], encoding: Encoding) -> Result<Value, String> {
    match encoding {
        Encoding::Base64 => Ok(Value::String(STANDARD.encode_to_string(bytes))),
        Encoding::Text => std::str::from_utf8(bytes)
            .map(|text| Value::String(text.to_owned()))
            .map_err(|_| {
                "ERR the value is not valid UTF-8: send `Upstash-Encoding: base64` to read it"
                    .to_owned()
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_carries_any_bytes_and_leaves_integers_alone() {
        let reply = Reply::Array(vec![
            Reply::Bulk(b"0".to_vec()),
            Reply::Array(vec![Reply::Bulk(vec![0xff, 0x00])]),
            Reply::Integer(-3),
            Reply::Nil,
            Reply::Status("OK"),
        ]);
        assert_eq!(
            reply.to_json(Encoding::Base64).unwrap(),
            json!(["MA==", ["/wA="], -3, null, "T0s="])
        );
    }

    #[test]
    fn text_refuses_to_mangle_binary_values() {
        assert_eq!(
            Reply::Bulk(b"hi".to_vec()).to_json(Encoding::Text),
            Ok(json!("hi"))
        );
        let error = Reply::Bulk(vec![0xff]).to_json(Encoding::Text).unwrap_err();
        assert!(error.contains("base64"), "{error}");
    }
}
