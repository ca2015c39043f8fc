//! Reading the REST endpoint's answers.
//!
//! With `Upstash-Encoding: base64`, an answer is `{"result": …}` where every
//! string (a value, `OK`, a scan cursor, a key) is the base64 of its raw
//! bytes, integers stay JSON integers and nil is `null`; or it is
//! `{"error": "<message>"}`, in plain text.

use base64::Engine as _;
use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::Value;

use crate::config::Endpoint;
use crate::error::{KvError, other};

/// Standard base64, with or without padding: both are the same bytes, and
/// a server that leaves padding out should not fail every read.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The message of an `{"error": "<message>"}` answer, if `body` is one.
pub fn error_message(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value.get("error")?.as_str().map(str::to_owned)
}

/// The `result` of an answer with `status` and `body`, or why there is none:
/// 401 and 403 say the store refused `kv-rest-token`: that is the
/// operator's to fix, not the caller's, so it is `other` (which the counter
/// answers as 503), not `access-denied` (which it answers as 401, as to a
/// client without credentials); an `{"error"}` body (whatever the
/// status) is the server's refusal; any other non-2xx names the status and
/// `endpoint`; a 2xx without a `result` is unparsable.
pub fn result(
    status: u16,
    body: &[u8],
    endpoint: &Endpoint,
    command: &str,
) -> Result<Value, KvError> {
    if status == 401 || status == 403 {
        return Err(other(format!(
            "redis REST endpoint {endpoint} refused the token (HTTP {status}): check kv-rest-token"
        )));
    }
    if let Some(message) = error_message(body) {
        return Err(other(format!("redis REST: {message}")));
    }
    if !(200..300).contains(&status) {
        return Err(other(format!(
            "redis REST endpoint {endpoint} answered {command} with HTTP {status}"
        )));
    }
    let mut value: Value =
        serde_json::from_slice(body).map_err(|_| unparsable(endpoint, command, "not JSON"))?;
    value
        .get_mut("result")
        .map(Value::take)
        .ok_or_else(|| unparsable(endpoint, command, "no `result`"))
}

fn unparsable(endpoint: &Endpoint, command: &str, why: &str) -> KvError {
    other(format!(
        "redis REST endpoint {endpoint} gave an unparsable answer to {command}: {why}"
    ))
}

/// A result that is nil or a (base64) string: `GET`'s.
pub fn nil_or_bytes(
    value: &Value,
    endpoint: &Endpoint,
    command: &str,
) -> Result<Option<Vec<u8>>, KvError> {
    match value {
        Value::Null => Ok(None),
        _ => bytes(value, endpoint, command).map(Some),
    }
}

/// A result that is a (base64) string.
pub fn bytes(value: &Value, endpoint: &Endpoint, command: &str) -> Result<Vec<u8>, KvError> {
    let text = value
        .as_str()
        .ok_or_else(|| unparsable(endpoint, command, "expected a string"))?;
    BASE64
        .decode(text)
        .map_err(|_| unparsable(endpoint, command, "a string is not base64"))
}

/// A result that is `OK`: `SET`'s.
pub fn ok(value: &Value, endpoint: &Endpoint, command: &str) -> Result<(), KvError> {
    match bytes(value, endpoint, command)?.as_slice() {
        b"OK" => Ok(()),
        _ => Err(unparsable(endpoint, command, "expected OK")),
    }
}

/// A result that is an integer.
pub fn integer(value: &Value, endpoint: &Endpoint, command: &str) -> Result<i64, KvError> {
    value
        .as_i64()
        .ok_or_else(|| unparsable(endpoint, command, "expected an integer"))
}

/// A `SCAN` result, `[cursor, [key, …]]`: the next cursor (`0` at the end)
/// and the raw keys.
pub fn scan_page(
    value: &Value,
    endpoint: &Endpoint,
    command: &str,
) -> Result<(u64, Vec<Vec<u8>>), KvError> {
    let bad = |why| unparsable(endpoint, command, why);
    let [cursor, keys] = value
        .as_array()
        .map(Vec::as_slice)
        .and_then(|pair| <&[Value; 2]>::try_from(pair).ok())
        .ok_or_else(|| bad("expected [cursor, keys]"))?;
    let cursor = bytes(cursor, endpoint, command)?;
    let cursor = std::str::from_utf8(&cursor)
        .ok()
        .and_then(|text| text.parse::<u64>().ok())
        .ok_or_else(|| bad("the cursor is not a number"))?;
    let keys = keys
        .as_array()
        .ok_or_else(|| bad("expected a list of keys"))?
        .iter()
        .map(|key| bytes(key, endpoint, command))
        .collect::<Result<_, _>>()?;
    Ok((cursor, keys))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn endpoint() -> Endpoint {
        Endpoint::parse("http://127.0.0.1:8079/kv").unwrap()
    }

    fn parse(status: u16, body: &str) -> Result<Value, KvError> {
        result(status, body.as_bytes(), &endpoint(), "GET")
    }

    fn message(error: KvError) -> String {
        match error {
            KvError::Other(message) => message,
            other => panic!("not `other`: {other:?}"),
        }
    }

    #[test]
    fn results_are_taken_out_of_the_answer() {
        assert_eq!(parse(200, r#"{"result":null}"#), Ok(Value::Null));
        assert_eq!(parse(200, r#"{"result":"T0s="}"#), Ok(json!("T0s=")));
        assert_eq!(parse(200, r#"{"result":7}"#), Ok(json!(7)));
    }

    #[test]
    fn refusals_and_failures_are_told_apart() {
        let refused = parse(401, r#"{"error":"Unauthorized"}"#).unwrap_err();
        assert!(
            refused.to_string().contains("refused the token (HTTP 401)"),
            "{refused}"
        );
        assert!(parse(403, "").unwrap_err().to_string().contains("HTTP 403"));
        assert_eq!(
            parse(
                400,
                r#"{"error":"ERR value is not an integer or out of range"}"#
            ),
            Err(other(
                "redis REST: ERR value is not an integer or out of range"
            ))
        );
        assert_eq!(
            parse(200, r#"{"error":"WRONGTYPE"}"#),
            Err(other("redis REST: WRONGTYPE"))
        );
        assert_eq!(
            parse(502, "<html>bad gateway</html>"),
            Err(other(
                "redis REST endpoint http://127.0.0.1:8079 answered GET with HTTP 502"
            ))
        );
        for body in ["", "not json", r#"{"resultat":1}"#, "[1]"] {
            let text = message(parse(200, body).unwrap_err());
            assert!(text.contains("unparsable answer to GET"), "{text}");
            assert!(text.contains("http://127.0.0.1:8079"), "{text}");
        }
    }

    #[test]
    fn strings_are_base64_of_raw_bytes() {
        let ep = endpoint();
        assert_eq!(nil_or_bytes(&Value::Null, &ep, "GET"), Ok(None));
        assert_eq!(
            nil_or_bytes(&json!("AP+A"), &ep, "GET"),
            Ok(Some(vec![0x00, 0xff, 0x80]))
        );
        assert_eq!(
            nil_or_bytes(&json!("aGk="), &ep, "GET"),
            Ok(Some(b"hi".to_vec()))
        );
        assert_eq!(
            nil_or_bytes(&json!("aGk"), &ep, "GET"),
            Ok(Some(b"hi".to_vec()))
        );
        assert_eq!(nil_or_bytes(&json!(""), &ep, "GET"), Ok(Some(Vec::new())));
        assert!(nil_or_bytes(&json!("hi!"), &ep, "GET").is_err());
        assert!(nil_or_bytes(&json!(5), &ep, "GET").is_err());
        assert_eq!(ok(&json!("T0s="), &ep, "SET"), Ok(()));
        // The plain "OK" of a server that ignored Upstash-Encoding.
        assert!(ok(&json!("OK"), &ep, "SET").is_err());
        let not_ok = ok(&json!("Tk8="), &ep, "SET").unwrap_err();
        assert!(message(not_ok).ends_with("expected OK"));
    }

    #[test]
    fn integers_stay_integers() {
        let ep = endpoint();
        assert_eq!(integer(&json!(42), &ep, "INCRBY"), Ok(42));
        assert_eq!(integer(&json!(-1), &ep, "INCRBY"), Ok(-1));
        assert!(integer(&json!("NDI="), &ep, "INCRBY").is_err());
        assert!(integer(&json!(1.5), &ep, "INCRBY").is_err());
        assert!(integer(&json!(u64::MAX), &ep, "INCRBY").is_err());
    }

    #[test]
    fn scan_pages_are_a_cursor_and_keys() {
        let ep = endpoint();
        // "17", ["b:x", "b:\xff"]
        assert_eq!(
            scan_page(&json!(["MTc=", ["Yjp4", "Yjr/"]]), &ep, "SCAN"),
            Ok((17, vec![b"b:x".to_vec(), b"b:\xff".to_vec()]))
        );
        assert_eq!(
            scan_page(&json!(["MA==", []]), &ep, "SCAN"),
            Ok((0, vec![]))
        );
        for bad in [
            json!(["MA=="]),
            json!(["MA==", [], 1]),
            json!([0, []]),
            json!(["eA==", []]),
            json!(["MA==", "Yjp4"]),
            json!(["MA==", [1]]),
            json!({"cursor": "0"}),
        ] {
            assert!(scan_page(&bad, &ep, "SCAN").is_err(), "{bad}");
        }
    }
}
