//! Who a request comes from, as a string safe to put into a counter name.

/// The header tried when the configured one is missing: proxies append the
/// address they saw, and the first entry is the original client.
pub const FORWARDED_FOR: &str = "x-forwarded-for";

/// The client id of requests that name no client at all. They share one
/// budget: better than letting them through unmetered.
pub const ANONYMOUS: &str = "anonymous";

/// Ids longer than this (before encoding) are refused: the longest IPv6
/// address is 45 characters, and a counter name (128 bytes at most) must
/// hold the id hex-encoded, plus the window.
pub const MAX_CLIENT_ID_BYTES: usize = 48;

/// Ids of this form are always hex-encoded, so that no raw id can collide
/// with an encoded one.
const HEX_PREFIX: &str = "hex.";

/// Where a client id came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The configured header.
    Header(String),
    /// The first entry of `x-forwarded-for`.
    ForwardedFor,
    /// No header named the client.
    Anonymous,
}

/// A client, by an id that fits a counter name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// The id as used in counter names: the raw id when it only has
    /// characters counter names allow, else `hex.` and its bytes in hex.
    pub key: String,
    /// Where the id came from.
    pub source: Source,
}

/// A client id too long to key a counter with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the client id in `{header}` is {len} bytes; at most {MAX_CLIENT_ID_BYTES} are accepted")]
pub struct ClientIdTooLong {
    /// The header it came from.
    pub header: String,
    /// Its length in bytes.
    pub len: usize,
}

/// Identifies the client of a request: by `header` (the configured one),
/// else by the first `x-forwarded-for` entry, else as [`ANONYMOUS`].
/// `lookup` returns a header's first value.
pub fn identify(
    header: &str,
    lookup: impl Fn(&str) -> Option<Vec<u8>>,
) -> Result<Client, ClientIdTooLong> {
    let candidates = [
        (lookup(header), Source::Header(header.to_owned())),
        (
            lookup(FORWARDED_FOR).map(|v| first_entry(&v).to_vec()),
            Source::ForwardedFor,
        ),
    ];
    for (value, source) in candidates {
        let Some(value) = value else { continue };
        let id = value.trim_ascii();
        if id.is_empty() {
            continue;
        }
        if id.len() > MAX_CLIENT_ID_BYTES {
            let header = match source {
                Source::Header(name) => name,
                _ => FORWARDED_FOR.to_owned(),
            };
            return Err(ClientIdTooLong {
                header,
                len: id.len(),
            });
        }
        return Ok(Client {
            key: encode(id),
            source,
        });
    }
    Ok(Client {
        key: ANONYMOUS.to_owned(),
        source: Source::Anonymous,
    })
}

/// The part of an `x-forwarded-for` value before the first comma.
fn first_entry(value: &[u8]) -> &[u8] {
    value.split(|b| *b == b',').next().unwrap_or(value)
}

/// `id` itself when counter names allow every byte of it, else hex.
fn encode(id: &[u8]) -> String {
    let plain = id
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || b"_-.:".contains(b));
    match std::str::from_utf8(id) {
        Ok(text) if plain && !text.starts_with(HEX_PREFIX) => text.to_owned(),
        _ => {
            let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
            format!("{HEX_PREFIX}{hex}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &'static [(&str, &str)]) -> impl Fn(&str) -> Option<Vec<u8>> {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_bytes().to_vec())
        }
    }

    #[test]
    fn the_configured_header_wins() {
        let client = identify(
            "x-client-ip",
            headers(&[
                ("x-client-ip", " 203.0.113.7 "),
                ("x-forwarded-for", "198.51.100.1"),
            ]),
        )
        .expect("short");
        assert_eq!(client.key, "203.0.113.7");
        assert_eq!(client.source, Source::Header("x-client-ip".into()));
    }

    #[test]
    fn forwarded_for_is_the_fallback_and_its_first_entry_counts() {
        let client = identify(
            "x-client-ip",
            headers(&[("x-forwarded-for", "2001:db8::1, 10.0.0.1")]),
        )
        .expect("short");
        assert_eq!(client.key, "2001:db8::1");
        assert_eq!(client.source, Source::ForwardedFor);
    }

    #[test]
    fn requests_naming_no_client_share_one_budget() {
        let client = identify("x-client-ip", headers(&[("x-client-ip", "  ")])).expect("empty");
        assert_eq!(client.key, ANONYMOUS);
        assert_eq!(client.source, Source::Anonymous);
    }

    #[test]
    fn odd_bytes_are_hex_encoded_and_never_collide_with_plain_ids() {
        let odd = identify("k", headers(&[("k", "a b/c")])).expect("short");
        assert_eq!(odd.key, "hex.6120622f63");
        // A raw id that looks like an encoded one is encoded too.
        let lookalike = identify("k", headers(&[("k", "hex.6120622f63")])).expect("short");
        assert_ne!(lookalike.key, odd.key);
        assert!(
            lookalike.key.starts_with("hex.6865782e"),
            "{}",
            lookalike.key
        );
    }

    #[test]
    fn overlong_ids_are_refused_by_header_name() {
        let long: &'static str = "a".repeat(49).leak();
        let pairs: &'static [(&str, &str)] = vec![("x-forwarded-for", long)].leak();
        let error = identify("x-client-ip", headers(pairs)).expect_err("too long");
        assert_eq!(
            error,
            ClientIdTooLong {
                header: "x-forwarded-for".into(),
                len: 49
            }
        );
        let exact: &'static str = "a".repeat(48).leak();
        let pairs: &'static [(&str, &str)] = vec![("x-client-ip", exact)].leak();
        assert!(identify("x-client-ip", headers(pairs)).is_ok());
    }
}
