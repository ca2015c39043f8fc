//! An open bucket and the `wasi:keyvalue` operations on it, over a
//! [`Transport`], with the retry policy.

use serde_json::Value;

use crate::command::Command;
use crate::config::{Config, ConfigError};
use crate::error::{KvError, other};
use crate::keys;
use crate::reply;
use crate::transport::{HttpRequest, HttpResponse, Transport, TransportError};

/// How many times an idempotent command is sent at most: once, then two
/// retries.
pub const ATTEMPTS: usize = 3;

/// The pause before each retry, in milliseconds. Short: a counter is on a
/// request's path, and what a retry mostly rides out is one dropped
/// keep-alive connection or one restarting gateway, not a long outage.
pub const BACKOFF_MS: [u64; ATTEMPTS - 1] = [20, 60];

/// How many `SCAN` calls one `list-keys` makes at most while Redis answers
/// empty pages with a non-zero cursor (it does so over sparse key spaces).
/// After that, the empty page and its cursor go back to the caller, who
/// goes on from there.
pub const MAX_SCAN_CALLS: usize = 16;

/// What an increment's failure adds when the increment may have been
/// carried out all the same.
pub const MAYBE_APPLIED: &str = "the increment may or may not have been applied";

/// One page of `list-keys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The bucket's keys (without the bucket's prefix).
    pub keys: Vec<String>,
    /// Where the next page starts; `None` after the last page.
    pub cursor: Option<u64>,
}

/// An open `wasi:keyvalue` bucket.
#[derive(Debug)]
pub struct Bucket {
    /// The bucket identifier.
    name: String,
    /// The settings, or why they cannot be used: opening never fails on
    /// them, every operation does.
    config: Result<Config, ConfigError>,
}

impl Bucket {
    /// Opens the bucket `identifier` with `config` (as read when opening).
    /// Makes no network call: only the identifier is checked.
    pub fn open(identifier: &str, config: Result<Config, ConfigError>) -> Result<Self, KvError> {
        keys::validate_bucket(identifier)?;
        Ok(Self {
            name: identifier.to_owned(),
            config,
        })
    }

    /// The bucket identifier.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `bucket.get`.
    pub fn get(
        &self,
        transport: &mut impl Transport,
        key: &str,
    ) -> Result<Option<Vec<u8>>, KvError> {
        let config = self.config()?;
        let key = self.redis_key(config, key);
        let command = Command::Get { key: &key };
        let value = self.run(config, transport, &command)?;
        reply::nil_or_bytes(&value, &config.endpoint, command.name())
    }

    /// `bucket.set`.
    pub fn set(
        &self,
        transport: &mut impl Transport,
        key: &str,
        value: &[u8],
    ) -> Result<(), KvError> {
        let config = self.config()?;
        let key = self.redis_key(config, key);
        let command = Command::Set { key: &key, value };
        let value = self.run(config, transport, &command)?;
        reply::ok(&value, &config.endpoint, command.name())
    }

    /// `bucket.delete`: deleting a missing key is no error.
    pub fn delete(&self, transport: &mut impl Transport, key: &str) -> Result<(), KvError> {
        let config = self.config()?;
        let key = self.redis_key(config, key);
        let command = Command::Del { key: &key };
        let value = self.run(config, transport, &command)?;
        reply::integer(&value, &config.endpoint, command.name()).map(drop)
    }

    /// `bucket.exists`.
    pub fn exists(&self, transport: &mut impl Transport, key: &str) -> Result<bool, KvError> {
        let config = self.config()?;
        let key = self.redis_key(config, key);
        let command = Command::Exists { key: &key };
        let value = self.run(config, transport, &command)?;
        Ok(reply::integer(&value, &config.endpoint, command.name())? > 0)
    }

    /// `bucket.list-keys`: one `SCAN` page of the bucket's keys (more calls
    /// while Redis answers empty pages, up to [`MAX_SCAN_CALLS`]). A cursor
    /// of `None` (or `0`) starts; Redis's end cursor `0` becomes `None`.
    pub fn list_keys(
        &self,
        transport: &mut impl Transport,
        cursor: Option<u64>,
    ) -> Result<Page, KvError> {
        let config = self.config()?;
        let prefix = keys::bucket_prefix(&config.key_prefix, &self.name);
        let pattern = keys::scan_pattern(&prefix);
        let mut cursor = cursor.unwrap_or(0);
        for _ in 0..MAX_SCAN_CALLS {
            let command = Command::Scan {
                cursor,
                pattern: &pattern,
            };
            let value = self.run(config, transport, &command)?;
            let (next, raw) = reply::scan_page(&value, &config.endpoint, command.name())?;
            // A key without the prefix would be a server ignoring MATCH:
            // it is not this bucket's, whatever it is.
            let keys: Vec<String> = raw.iter().filter_map(|k| keys::strip(&prefix, k)).collect();
            cursor = next;
            if !keys.is_empty() || next == 0 {
                return Ok(Page {
                    keys,
                    cursor: (next != 0).then_some(next),
                });
            }
        }
        Ok(Page {
            keys: Vec::new(),
            cursor: Some(cursor),
        })
    }

    /// `atomics.increment` over `INCRBY`, sent exactly once (see
    /// [`Command::is_idempotent`]). A delta above `i64::MAX` and a negative
    /// total (which `u64` cannot carry) are errors; the former costs no
    /// call.
    pub fn increment(
        &self,
        transport: &mut impl Transport,
        key: &str,
        delta: u64,
    ) -> Result<u64, KvError> {
        let config = self.config()?;
        let delta = i64::try_from(delta).map_err(|_| {
            other(format!(
                "increment delta {delta} is larger than Redis's INCRBY takes ({})",
                i64::MAX
            ))
        })?;
        let key = self.redis_key(config, key);
        let command = Command::IncrBy { key: &key, delta };
        let value = self.run(config, transport, &command)?;
        let total = reply::integer(&value, &config.endpoint, command.name())?;
        u64::try_from(total).map_err(|_| {
            other(format!(
                "the counter is negative ({total}) after the increment: it was not written as a counter"
            ))
        })
    }

    fn config(&self) -> Result<&Config, KvError> {
        self.config
            .as_ref()
            .map_err(|error| other(error.to_string()))
    }

    fn redis_key(&self, config: &Config, key: &str) -> String {
        keys::redis_key(&config.key_prefix, &self.name, key)
    }

    /// Sends `command` (again, after a transport error or a 5xx, while it
    /// is idempotent and attempts are left) and returns its `result`. The
    /// error never contains the token.
    fn run(
        &self,
        config: &Config,
        transport: &mut impl Transport,
        command: &Command<'_>,
    ) -> Result<Value, KvError> {
        let request = request(config, command);
        let attempts = if command.is_idempotent() { ATTEMPTS } else { 1 };
        let mut attempt = 1;
        loop {
            let outcome = transport.post(&request);
            let worth_retrying = match &outcome {
                Err(TransportError::Failed { .. }) => true,
                Ok(response) => (500..600).contains(&response.status),
                Err(TransportError::TooLarge { .. }) => false,
            };
            if worth_retrying && attempt < attempts {
                transport.sleep_ms(BACKOFF_MS[attempt - 1]);
                attempt += 1;
                continue;
            }
            return settle(config, command, outcome).map_err(|e| e.scrub(config.token.expose()));
        }
    }
}

/// The HTTP request of `command`.
fn request(config: &Config, command: &Command<'_>) -> HttpRequest {
    let encoded = command.encode();
    HttpRequest {
        scheme: config.endpoint.scheme,
        authority: config.endpoint.authority.clone(),
        path: config.endpoint.path(&encoded.path),
        headers: vec![
            ("Authorization", config.token.authorization()),
            ("Upstash-Encoding", "base64".to_owned()),
            ("Content-Type", encoded.content_type.to_owned()),
        ],
        body: encoded.body,
        timeout_ms: config.timeout_ms,
    }
}

/// The `result` of the last attempt's `outcome`, or the error it is.
fn settle(
    config: &Config,
    command: &Command<'_>,
    outcome: Result<HttpResponse, TransportError>,
) -> Result<Value, KvError> {
    let endpoint = &config.endpoint;
    let name = command.name();
    // Whether a failed increment may have been applied: unless the request
    // never left, or the server answered with a refusal of its own.
    let (error, maybe_applied) = match outcome {
        Err(TransportError::Failed {
            detail,
            may_have_reached,
        }) => (
            other(format!(
                "redis REST endpoint {endpoint} unreachable: {detail}"
            )),
            may_have_reached,
        ),
        Err(TransportError::TooLarge { limit }) => (
            other(format!(
                "redis REST endpoint {endpoint}: the answer to {name} is larger than {limit} bytes"
            )),
            true,
        ),
        Ok(response) => match reply::result(response.status, &response.body, endpoint, name) {
            Ok(value) => return Ok(value),
            Err(error) => {
                // Redis's own `{"error"}`, or a 3xx/4xx: the command was
                // turned down, not carried out.
                let refused = (300..500).contains(&response.status)
                    || reply::error_message(&response.body).is_some();
                (error, !refused)
            }
        },
    };
    match error {
        KvError::Other(message) if maybe_applied && !command.is_idempotent() => {
            Err(other(format!("{message}; {MAYBE_APPLIED}")))
        }
        error => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;

    const TOKEN: &str = "AXsecret-Token-9f3";

    /// A transport that answers from a script and records what it saw.
    #[derive(Default)]
    struct Scripted {
        answers: VecDeque<Result<HttpResponse, TransportError>>,
        seen: Vec<HttpRequest>,
        sleeps: Vec<u64>,
    }

    impl Scripted {
        fn new(answers: impl IntoIterator<Item = Result<HttpResponse, TransportError>>) -> Self {
            Self {
                answers: answers.into_iter().collect(),
                ..Self::default()
            }
        }

        fn bodies(&self) -> Vec<String> {
            self.seen
                .iter()
                .map(|r| String::from_utf8_lossy(&r.body).into_owned())
                .collect()
        }
    }

    impl Transport for Scripted {
        fn post(&mut self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
            self.seen.push(request.clone());
            self.answers
                .pop_front()
                .unwrap_or_else(|| panic!("unscripted call: {request:?}"))
        }

        fn sleep_ms(&mut self, ms: u64) {
            self.sleeps.push(ms);
        }
    }

    fn answer(status: u16, body: &str) -> Result<HttpResponse, TransportError> {
        Ok(HttpResponse {
            status,
            body: body.as_bytes().to_vec(),
        })
    }

    fn lost(may_have_reached: bool) -> Result<HttpResponse, TransportError> {
        Err(TransportError::Failed {
            detail: "ConnectionTerminated".into(),
            may_have_reached,
        })
    }

    fn config(prefix: &str) -> Result<Config, ConfigError> {
        Config::from_lookup(|key| {
            Ok(match key {
                "kv-rest-url" => Some("http://kv.internal:8079/rest/".to_owned()),
                "kv-rest-token" => Some(TOKEN.to_owned()),
                "kv-rest-key-prefix" => Some(prefix.to_owned()),
                _ => None,
            })
        })
    }

    fn bucket() -> Bucket {
        Bucket::open("default", config("app1:")).unwrap()
    }

    /// `error`'s Display and Debug, checked to carry no token.
    fn text(error: &KvError) -> String {
        let text = format!("{error} {error:?}");
        assert!(!text.contains(TOKEN), "the token leaked: {text}");
        assert!(!text.contains("Bearer"), "the header leaked: {text}");
        text
    }

    #[test]
    fn every_request_carries_the_token_encoding_and_timeout() {
        let mut t = Scripted::new([answer(200, r#"{"result":null}"#)]);
        assert_eq!(bucket().get(&mut t, "k"), Ok(None));
        let request = &t.seen[0];
        assert_eq!(request.scheme, crate::config::Scheme::Http);
        assert_eq!(request.authority, "kv.internal:8079");
        assert_eq!(request.path, "/rest/");
        assert_eq!(
            request.header("Authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert_eq!(request.header("Upstash-Encoding"), Some("base64"));
        assert_eq!(request.header("Content-Type"), Some("application/json"));
        assert_eq!(request.timeout_ms, 2000);
        assert_eq!(t.bodies(), [r#"["GET","app1:default:k"]"#]);
    }

    #[test]
    fn get_set_delete_exists_speak_the_contract() {
        let b = bucket();
        let mut t = Scripted::new([
            answer(200, r#"{"result":"AP+AIg=="}"#),
            answer(200, r#"{"result":"T0s="}"#),
            answer(200, r#"{"result":1}"#),
            answer(200, r#"{"result":0}"#),
            answer(200, r#"{"result":1}"#),
        ]);
        assert_eq!(b.get(&mut t, "bin"), Ok(Some(vec![0, 0xff, 0x80, b'"'])));
        assert_eq!(b.set(&mut t, "a/b c", &[0, 0xff, 0x80, b'"']), Ok(()));
        assert_eq!(b.delete(&mut t, "k"), Ok(()));
        assert_eq!(b.exists(&mut t, "k"), Ok(false));
        assert_eq!(b.exists(&mut t, "k"), Ok(true));

        let set = &t.seen[1];
        assert_eq!(set.path, "/rest/set/app1%3Adefault%3Aa%2Fb%20c");
        assert_eq!(set.body, [0, 0xff, 0x80, b'"']);
        assert_eq!(set.header("Content-Type"), Some("application/octet-stream"));
        assert_eq!(
            set.header("Authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        let bodies = t.bodies();
        assert_eq!(bodies[2], r#"["DEL","app1:default:k"]"#);
        assert_eq!(bodies[3], r#"["EXISTS","app1:default:k"]"#);
        assert!(t.sleeps.is_empty());
    }

    #[test]
    fn set_wants_ok() {
        let mut t = Scripted::new([
            answer(200, r#"{"result":"T0s"}"#),
            answer(200, r#"{"result":"OK"}"#),
        ]);
        assert_eq!(bucket().set(&mut t, "k", b"v"), Ok(()));
        let error = bucket().set(&mut t, "k", b"v").unwrap_err();
        assert!(text(&error).contains("unparsable answer to SET"), "{error}");
    }

    #[test]
    fn increments_send_incrby_once() {
        let mut t = Scripted::new([answer(200, r#"{"result":42}"#)]);
        assert_eq!(bucket().increment(&mut t, "page_views", 41), Ok(42));
        assert_eq!(t.bodies(), [r#"["INCRBY","app1:default:page_views","41"]"#]);
    }

    #[test]
    fn a_lost_increment_is_not_retried_and_says_it_may_have_counted() {
        let mut t = Scripted::new([lost(true)]);
        let error = bucket().increment(&mut t, "n", 1).unwrap_err();
        assert_eq!(
            error,
            other(format!(
                "redis REST endpoint http://kv.internal:8079 unreachable: ConnectionTerminated; {MAYBE_APPLIED}"
            ))
        );
        assert_eq!(t.seen.len(), 1);
        assert!(t.sleeps.is_empty());
        text(&error);

        // A request that never left is not retried either, without the note.
        let mut t = Scripted::new([lost(false)]);
        let error = bucket().increment(&mut t, "n", 1).unwrap_err();
        assert!(!text(&error).contains(MAYBE_APPLIED), "{error}");
        assert_eq!(t.seen.len(), 1);
    }

    #[test]
    fn an_increment_answered_5xx_is_not_retried() {
        let mut t = Scripted::new([answer(502, "bad gateway")]);
        let error = bucket().increment(&mut t, "n", 1).unwrap_err();
        let text = text(&error);
        assert!(
            text.contains("HTTP 502") && text.contains(MAYBE_APPLIED),
            "{text}"
        );
        assert_eq!(t.seen.len(), 1);

        // Redis's own refusal: certainly not applied.
        let mut t = Scripted::new([answer(
            500,
            r#"{"error":"ERR value is not an integer or out of range"}"#,
        )]);
        assert_eq!(
            bucket().increment(&mut t, "n", 1),
            Err(other(
                "redis REST: ERR value is not an integer or out of range"
            ))
        );
        assert_eq!(t.seen.len(), 1);
    }

    #[test]
    fn increments_refuse_what_i64_and_u64_cannot_carry() {
        let mut t = Scripted::new([]);
        let error = bucket()
            .increment(&mut t, "n", i64::MAX as u64 + 1)
            .unwrap_err();
        assert!(text(&error).contains("delta"), "{error}");
        assert!(t.seen.is_empty());

        let mut t = Scripted::new([
            answer(200, r#"{"result":-5}"#),
            answer(200, r#"{"result":"NQ=="}"#),
        ]);
        assert!(text(&bucket().increment(&mut t, "n", 1).unwrap_err()).contains("negative"));
        assert!(
            text(&bucket().increment(&mut t, "n", 1).unwrap_err()).contains("expected an integer")
        );
        let mut t = Scripted::new([answer(200, &format!(r#"{{"result":{}}}"#, i64::MAX))]);
        assert_eq!(
            bucket().increment(&mut t, "n", i64::MAX as u64),
            Ok(i64::MAX as u64)
        );
    }

    #[test]
    fn reads_are_retried_after_a_lost_answer_or_a_5xx() {
        let mut t = Scripted::new([
            lost(true),
            answer(503, ""),
            answer(200, r#"{"result":"dg=="}"#),
        ]);
        assert_eq!(bucket().get(&mut t, "k"), Ok(Some(b"v".to_vec())));
        assert_eq!(t.seen.len(), 3);
        assert_eq!(t.sleeps, BACKOFF_MS);
        assert!(
            t.seen.iter().all(|r| r == &t.seen[0]),
            "the same request again"
        );

        let mut t = Scripted::new([lost(true), answer(200, r#"{"result":1}"#)]);
        assert_eq!(bucket().exists(&mut t, "k"), Ok(true));
        assert_eq!(t.seen.len(), 2);
    }

    #[test]
    fn reads_give_up_after_three_attempts() {
        let mut t = Scripted::new([lost(false), lost(true), lost(true)]);
        let error = bucket().get(&mut t, "k").unwrap_err();
        assert_eq!(
            error,
            other("redis REST endpoint http://kv.internal:8079 unreachable: ConnectionTerminated")
        );
        assert_eq!(t.seen.len(), 3);

        let mut t = Scripted::new([answer(500, ""), answer(500, ""), answer(504, "")]);
        let error = bucket().exists(&mut t, "k").unwrap_err();
        assert!(text(&error).contains("HTTP 504"), "{error}");
        assert_eq!(t.seen.len(), 3);
    }

    #[test]
    fn writes_are_retried_like_reads() {
        let mut t = Scripted::new([lost(true), answer(200, r#"{"result":"T0s="}"#)]);
        assert_eq!(bucket().set(&mut t, "k", b"v"), Ok(()));
        assert_eq!(t.seen.len(), 2);
        let mut t = Scripted::new([answer(503, ""), answer(200, r#"{"result":0}"#)]);
        assert_eq!(bucket().delete(&mut t, "k"), Ok(()));
        assert_eq!(t.seen.len(), 2);
    }

    #[test]
    fn refusals_and_oversized_answers_are_not_retried() {
        let mut t = Scripted::new([answer(401, r#"{"error":"Unauthorized"}"#)]);
        assert!(bucket().get(&mut t, "k").is_err());
        assert_eq!(t.seen.len(), 1);
        let mut t = Scripted::new([answer(403, "")]);
        assert!(bucket().set(&mut t, "k", b"v").is_err());
        assert_eq!(t.seen.len(), 1);
        let mut t = Scripted::new([answer(400, r#"{"error":"ERR syntax error"}"#)]);
        assert_eq!(
            bucket().get(&mut t, "k"),
            Err(other("redis REST: ERR syntax error"))
        );
        let mut t = Scripted::new([answer(404, "nope")]);
        let error = bucket().get(&mut t, "k").unwrap_err();
        assert!(text(&error).contains("HTTP 404"), "{error}");
        let mut t = Scripted::new([Err(TransportError::TooLarge { limit: 16 << 20 })]);
        let error = bucket().get(&mut t, "k").unwrap_err();
        assert!(
            text(&error).contains("larger than 16777216 bytes"),
            "{error}"
        );
        assert_eq!(t.seen.len(), 1);
    }

    #[test]
    fn the_token_is_scrubbed_from_what_a_server_echoes() {
        let mut t = Scripted::new([answer(400, &format!(r#"{{"error":"bad token {TOKEN}"}}"#))]);
        let error = bucket().get(&mut t, "k").unwrap_err();
        assert_eq!(error, other("redis REST: bad token [redacted]"));
        assert!(!format!("{:?}", bucket()).contains(TOKEN));
    }

    #[test]
    fn list_keys_scans_the_bucket_prefix() {
        let b = Bucket::open("b*", config("p?")).unwrap();
        // cursor "0", keys "p?b*:k1" and "p?b*:k2"
        let mut t = Scripted::new([answer(
            200,
            r#"{"result":["MA==",["cD9iKjprMQ==","cD9iKjprMg=="]]}"#,
        )]);
        assert_eq!(
            b.list_keys(&mut t, None),
            Ok(Page {
                keys: vec!["k1".into(), "k2".into()],
                cursor: None
            })
        );
        assert_eq!(
            t.bodies(),
            [r#"["SCAN","0","MATCH","p\\?b\\*:*","COUNT","1000"]"#]
        );
    }

    #[test]
    fn list_keys_skips_empty_pages_and_foreign_keys() {
        // "7" with no keys; "9" with a foreign key and a non-UTF-8 one; "12"
        // with "app1:default:x".
        let mut t = Scripted::new([
            answer(200, r#"{"result":["Nw==",[]]}"#),
            answer(
                200,
                r#"{"result":["OQ==",["b3RoZXI6eA==","YXBwMTpkZWZhdWx0Ov8="]]}"#,
            ),
            answer(200, r#"{"result":["MTI=",["YXBwMTpkZWZhdWx0Ong="]]}"#),
        ]);
        assert_eq!(
            bucket().list_keys(&mut t, Some(3)),
            Ok(Page {
                keys: vec!["x".into()],
                cursor: Some(12)
            })
        );
        let cursors: Vec<String> = t
            .bodies()
            .iter()
            .map(|b| b.split('"').nth(3).unwrap_or_default().to_owned())
            .collect();
        assert_eq!(cursors, ["3", "7", "9"]);
    }

    #[test]
    fn list_keys_stops_after_sixteen_empty_pages() {
        let mut t =
            Scripted::new((0..MAX_SCAN_CALLS).map(|_| answer(200, r#"{"result":["NQ==",[]]}"#)));
        assert_eq!(
            bucket().list_keys(&mut t, None),
            Ok(Page {
                keys: vec![],
                cursor: Some(5)
            })
        );
        assert_eq!(t.seen.len(), MAX_SCAN_CALLS);
    }

    #[test]
    fn a_scan_is_retried_per_call() {
        let mut t = Scripted::new([lost(true), answer(200, r#"{"result":["MA==",[]]}"#)]);
        assert_eq!(
            bucket().list_keys(&mut t, None),
            Ok(Page {
                keys: vec![],
                cursor: None
            })
        );
        assert_eq!(t.seen.len(), 2);
    }

    #[test]
    fn opening_checks_the_identifier_only() {
        assert_eq!(
            Bucket::open("", config("")).unwrap_err(),
            KvError::NoSuchStore
        );
        assert_eq!(
            Bucket::open("a:b", config("")).unwrap_err(),
            KvError::NoSuchStore
        );
        assert_eq!(bucket().name(), "default");
    }

    #[test]
    fn without_settings_every_operation_fails_and_calls_nothing() {
        let missing = Config::from_lookup(|_| Ok(None));
        let b = Bucket::open("default", missing).unwrap();
        let mut t = Scripted::new([]);
        for error in [
            b.get(&mut t, "k").unwrap_err(),
            b.set(&mut t, "k", b"v").unwrap_err(),
            b.delete(&mut t, "k").unwrap_err(),
            b.exists(&mut t, "k").unwrap_err(),
            b.list_keys(&mut t, None).unwrap_err(),
            b.increment(&mut t, "k", 1).unwrap_err(),
        ] {
            assert!(text(&error).contains("kv-rest-url is not set"), "{error}");
        }
        assert!(t.seen.is_empty());
    }
}
