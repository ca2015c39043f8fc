//! Reading Redis commands out of REST requests, in the three shapes the
//! Upstash REST protocol has: a JSON array (`POST /`), an array of them
//! (`POST /pipeline`), and a path (`/set/key`, with a request body as the
//! last argument).

use percent_encoding::percent_decode_str;

/// A command the gateway runs, its arguments checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `PING`: answers `PONG`, touching no store.
    Ping,
    /// `GET key`.
    Get(String),
    /// `SET key value` (no options).
    Set(String, Vec<u8>),
    /// `DEL key [key …]`: answers how many existed.
    Del(Vec<String>),
    /// `EXISTS key [key …]`: answers how many exist.
    Exists(Vec<String>),
    /// `INCR key` (`by` 1) and `INCRBY key by`.
    IncrBy(String, u64),
    /// `SCAN cursor [MATCH prefix*] [COUNT n]`.
    Scan {
        /// Where to go on; 0 starts.
        cursor: u64,
        /// Only keys that start with this (a `MATCH` of `prefix*`).
        prefix: String,
    },
}

/// Why a command cannot run: answered as `{"error": "ERR …"}` with 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ERR {0}")]
pub struct BadCommand(pub String);

fn bad(message: impl Into<String>) -> BadCommand {
    BadCommand(message.into())
}

/// Parses a `POST /` body: one command as a JSON array of strings (numbers
/// count as their decimal text, as Upstash allows).
pub fn from_json(body: &[u8]) -> Result<Command, BadCommand> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| bad(format!("the body is not a JSON command array: {e}")))?;
    from_json_value(&value)
}

/// Parses a `POST /pipeline` body: a JSON array of command arrays. Each
/// command's own fault is kept, so the rest still run.
pub fn pipeline_from_json(body: &[u8]) -> Result<Vec<Result<Command, BadCommand>>, BadCommand> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| bad(format!("the body is not a JSON array of commands: {e}")))?;
    let serde_json::Value::Array(commands) = value else {
        return Err(bad("a pipeline is a JSON array of command arrays"));
    };
    if commands.is_empty() {
        return Err(bad("the pipeline is empty"));
    }
    Ok(commands.iter().map(from_json_value).collect())
}

fn from_json_value(value: &serde_json::Value) -> Result<Command, BadCommand> {
    let serde_json::Value::Array(items) = value else {
        return Err(bad("a command is a JSON array such as [\"GET\",\"key\"]"));
    };
    let args = items
        .iter()
        .map(|item| match item {
            serde_json::Value::String(text) => Ok(text.as_bytes().to_vec()),
            serde_json::Value::Number(number) => Ok(number.to_string().into_bytes()),
            _ => Err(bad("command arguments are strings or numbers")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    parse(args)
}

/// Parses the path form: `/{command}/{arg}/…`, each segment
/// percent-decoded, with a non-empty `body` appended as the last argument
/// (how a binary value is sent).
pub fn from_path(path: &str, body: &[u8]) -> Result<Command, BadCommand> {
    let mut args = path
        .trim_start_matches('/')
        .split('/')
        .map(|segment| percent_decode_str(segment).collect::<Vec<u8>>())
        .collect::<Vec<_>>();
    if !body.is_empty() {
        args.push(body.to_vec());
    }
    parse(args)
}

/// Checks a command's name and arguments.
pub fn parse(args: Vec<Vec<u8>>) -> Result<Command, BadCommand> {
    let mut args = args.into_iter();
    let name = args
        .next()
        .filter(|name| !name.is_empty())
        .ok_or_else(|| bad("the command is empty"))?;
    let name = String::from_utf8_lossy(&name).to_ascii_uppercase();
    let rest: Vec<Vec<u8>> = args.collect();
    let arity = |count: usize| {
        if rest.len() == count {
            Ok(())
        } else {
            Err(bad(format!(
                "wrong number of arguments for '{}' command",
                name.to_ascii_lowercase()
            )))
        }
    };
    match name.as_str() {
        "PING" => {
            arity(0)?;
            Ok(Command::Ping)
        }
        "GET" => {
            arity(1)?;
            Ok(Command::Get(key(&rest[0])?))
        }
        "SET" => {
            arity(2)?;
            Ok(Command::Set(key(&rest[0])?, rest[1].clone()))
        }
        "DEL" | "EXISTS" => {
            if rest.is_empty() {
                return Err(bad(format!(
                    "wrong number of arguments for '{}' command",
                    name.to_ascii_lowercase()
                )));
            }
            let keys = rest.iter().map(|k| key(k)).collect::<Result<Vec<_>, _>>()?;
            Ok(if name == "DEL" {
                Command::Del(keys)
            } else {
                Command::Exists(keys)
            })
        }
        "INCR" => {
            arity(1)?;
            Ok(Command::IncrBy(key(&rest[0])?, 1))
        }
        "INCRBY" => {
            arity(2)?;
            let by = std::str::from_utf8(&rest[1])
                .ok()
                .and_then(|text| text.parse::<i64>().ok())
                .ok_or_else(|| bad("value is not an integer or out of range"))?;
            let by = u64::try_from(by)
                .map_err(|_| bad("this gateway's counters only go up: INCRBY takes 0 or more"))?;
            Ok(Command::IncrBy(key(&rest[0])?, by))
        }
        "SCAN" => scan(&rest),
        other => Err(bad(format!(
            "unknown or unsupported command '{}': this gateway runs PING, GET, SET, DEL, EXISTS, INCR, INCRBY and SCAN",
            other.to_ascii_lowercase()
        ))),
    }
}

/// Keys are UTF-8 here: the gateway's stores key by string.
fn key(raw: &[u8]) -> Result<String, BadCommand> {
    let key = std::str::from_utf8(raw).map_err(|_| bad("keys must be valid UTF-8"))?;
    if key.is_empty() {
        return Err(bad("keys must not be empty"));
    }
    Ok(key.to_owned())
}

fn scan(rest: &[Vec<u8>]) -> Result<Command, BadCommand> {
    let (cursor, options) = rest
        .split_first()
        .ok_or_else(|| bad("wrong number of arguments for 'scan' command"))?;
    let cursor = std::str::from_utf8(cursor)
        .ok()
        .and_then(|text| text.parse::<u64>().ok())
        .ok_or_else(|| bad("invalid cursor"))?;
    let mut prefix = String::new();
    let mut options = options.iter();
    while let Some(option) = options.next() {
        let value = options.next().ok_or_else(|| bad("syntax error"))?;
        match String::from_utf8_lossy(option)
            .to_ascii_uppercase()
            .as_str()
        {
            "MATCH" => prefix = glob_prefix(value)?,
            // Pages are the store's own size; a hint may be ignored.
            "COUNT" => {}
            _ => return Err(bad("syntax error")),
        }
    }
    Ok(Command::Scan { cursor, prefix })
}

/// The literal prefix of a `MATCH` pattern of the form `prefix*`, with
/// `\`-escapes undone. Other globs are refused rather than half-supported.
fn glob_prefix(pattern: &[u8]) -> Result<String, BadCommand> {
    let pattern = std::str::from_utf8(pattern).map_err(|_| bad("patterns must be UTF-8"))?;
    let unsupported = || {
        bad(format!(
            "MATCH pattern '{pattern}' is not supported: this gateway matches a literal prefix followed by one '*'"
        ))
    };
    let mut prefix = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => prefix.push(chars.next().ok_or_else(unsupported)?),
            '*' if chars.as_str().is_empty() => return Ok(prefix),
            '*' | '?' | '[' | ']' => return Err(unsupported()),
            c => prefix.push(c),
        }
    }
    // No wildcard at all: Redis would match exactly this key.
    Err(unsupported())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_commands_parse() {
        assert_eq!(
            from_json(br#"["incrby","page_views","5"]"#),
            Ok(Command::IncrBy("page_views".into(), 5))
        );
        assert_eq!(
            from_json(br#"["INCRBY","k",7]"#),
            Ok(Command::IncrBy("k".into(), 7))
        );
        assert_eq!(from_json(br#"["GET","k"]"#), Ok(Command::Get("k".into())));
        assert_eq!(
            from_json(br#"["DEL","a","b"]"#),
            Ok(Command::Del(vec!["a".into(), "b".into()]))
        );
        assert_eq!(
            from_json(br#"["SCAN","0","MATCH","app\\*:default:*","COUNT","1000"]"#),
            Ok(Command::Scan {
                cursor: 0,
                prefix: "app*:default:".into()
            })
        );
    }

    #[test]
    fn malformed_commands_say_what_is_wrong() {
        for (body, says) in [
            (&b"not json"[..], "not a JSON command array"),
            (br#"{"GET":"k"}"#, "JSON array"),
            (br#"[]"#, "empty"),
            (br#"["GET"]"#, "wrong number of arguments for 'get'"),
            (br#"["GET",null]"#, "strings or numbers"),
            (br#"["FLUSHALL"]"#, "unsupported command 'flushall'"),
            (br#"["INCRBY","k","x"]"#, "not an integer"),
            (br#"["INCRBY","k","-1"]"#, "only go up"),
            (br#"["SCAN","0","MATCH","a?b*"]"#, "not supported"),
            (br#"["SCAN","zero"]"#, "invalid cursor"),
        ] {
            let error = from_json(body).expect_err(says).to_string();
            assert!(error.starts_with("ERR "), "{error}");
            assert!(error.contains(says), "{error} should say {says}");
        }
    }

    #[test]
    fn the_path_form_takes_the_body_as_the_last_argument() {
        let value = [0xff, 0x00, 0xfe];
        assert_eq!(
            from_path("/set/app%3Adefault%3Ak%2F1", &value),
            Ok(Command::Set("app:default:k/1".into(), value.to_vec()))
        );
        assert_eq!(from_path("/get/k", b""), Ok(Command::Get("k".into())));
        assert_eq!(
            from_path("/incr/k", b""),
            Ok(Command::IncrBy("k".into(), 1))
        );
        assert!(from_path("/get/%FF", b"").is_err(), "keys are UTF-8");
    }

    #[test]
    fn a_pipeline_keeps_each_commands_fault() {
        let commands = pipeline_from_json(br#"[["INCR","a"],["NOPE"],["GET","a"]]"#).unwrap();
        assert_eq!(commands.len(), 3);
        assert!(commands[0].is_ok() && commands[1].is_err() && commands[2].is_ok());
        assert!(pipeline_from_json(b"[]").is_err());
        assert!(pipeline_from_json(br#"["GET","a"]"#).unwrap()[0].is_err());
    }
}
