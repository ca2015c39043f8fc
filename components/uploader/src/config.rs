//! The uploader's configuration, read from `wasi:config/store` keys.
//!
//! Parsing is separate from the store so that it is tested on the host: the
//! glue passes a lookup function.

use std::fmt;
use std::net::Ipv4Addr;

use crate::error::Error;
use crate::key;
use crate::plan::{self, MAX_PART_SIZE, MAX_PUT_BYTES, MIN_PART_SIZE};
use crate::retry::RetryPolicy;

/// Config key: the store's base URL, `scheme://host[:port]`.
pub const ENDPOINT: &str = "s3-endpoint";
/// Config key: the bucket every object goes into.
pub const BUCKET: &str = "s3-bucket";
/// Config key: the access key id (not a secret; it travels in every request).
pub const ACCESS_KEY_ID: &str = "s3-access-key-id";
/// Config key: the secret access key.
pub const SECRET_ACCESS_KEY: &str = "s3-secret-access-key";
/// Config key: the signing region.
pub const REGION: &str = "s3-region";
/// Config key: an STS session token, for temporary credentials.
pub const SESSION_TOKEN: &str = "s3-session-token";
/// Config key: `path` or `virtual`.
pub const ADDRESSING: &str = "s3-addressing";

/// Config key: a prefix every object key goes under (such as `uploads`),
/// joined to the key with exactly one `/`.
pub const KEY_PREFIX: &str = "s3-key-prefix";
/// Config key: `true` sends `If-None-Match: *` on `PutObject` and
/// `CompleteMultipartUpload`, so an existing object is never replaced.
pub const REFUSE_OVERWRITE: &str = "s3-refuse-overwrite";
/// Config key: how long connecting to the store may take, in ms.
pub const CONNECT_TIMEOUT_MS: &str = "s3-connect-timeout-ms";
/// Config key: how long the store may take to start answering once the
/// request is sent, in ms.
pub const FIRST_BYTE_TIMEOUT_MS: &str = "s3-first-byte-timeout-ms";
/// Config key: how long the store may pause between two pieces of its
/// answer, in ms.
pub const BETWEEN_BYTES_TIMEOUT_MS: &str = "s3-between-bytes-timeout-ms";
/// Config key: bodies of known length above this many bytes go multipart.
pub const MULTIPART_THRESHOLD: &str = "s3-multipart-threshold";
/// Config key: the size of a multipart upload's parts, in bytes.
pub const PART_SIZE: &str = "s3-part-size";
/// Config key: attempts per idempotent request, the first included.
pub const RETRY_MAX_ATTEMPTS: &str = "s3-retry-max-attempts";
/// Config key: the backoff before the first retry is at most this many ms.
pub const RETRY_BASE_MS: &str = "s3-retry-base-ms";
/// Config key: no backoff is longer than this many ms.
pub const RETRY_MAX_BACKOFF_MS: &str = "s3-retry-max-backoff-ms";
/// Config key: no retry of a request starts later than this many ms after
/// its first attempt.
pub const RETRY_DEADLINE_MS: &str = "s3-retry-deadline-ms";

/// The region used when `s3-region` is not set.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Default of `s3-connect-timeout-ms`.
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 5_000;
/// Default of `s3-first-byte-timeout-ms`.
pub const DEFAULT_FIRST_BYTE_TIMEOUT_MS: u64 = 15_000;
/// Default of `s3-between-bytes-timeout-ms`.
pub const DEFAULT_BETWEEN_BYTES_TIMEOUT_MS: u64 = 15_000;

/// The longest any outgoing timeout may be set to: 10 minutes, in ms.
const MAX_TIMEOUT_MS: u64 = 600_000;

/// How long one outgoing request to the store may take, phase by phase.
/// Without them a store that accepts and never answers would hold the
/// instance until the host's own deadline kills it, parts left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Connecting, in ms.
    pub connect_ms: u64,
    /// From the request sent to the first byte of the answer, in ms.
    pub first_byte_ms: u64,
    /// Between two pieces of the answer, in ms.
    pub between_bytes_ms: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect_ms: DEFAULT_CONNECT_TIMEOUT_MS,
            first_byte_ms: DEFAULT_FIRST_BYTE_TIMEOUT_MS,
            between_bytes_ms: DEFAULT_BETWEEN_BYTES_TIMEOUT_MS,
        }
    }
}

/// Why the configuration could not be used. Messages name keys, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The configuration store failed to answer.
    #[error("reading {key} from the configuration store failed: {reason}")]
    Store {
        /// The key being read.
        key: &'static str,
        /// What the store said.
        reason: String,
    },
    /// A required key is absent or blank.
    #[error("uploader is not configured: missing {0}")]
    Missing(&'static str),
    /// A key is set to a value the uploader cannot use.
    #[error("uploader is misconfigured: {key} {reason}")]
    Invalid {
        /// The offending key.
        key: &'static str,
        /// What is wrong with its value (without the value).
        reason: &'static str,
    },
}

impl From<ConfigError> for Error {
    fn from(err: ConfigError) -> Self {
        match err {
            ConfigError::Store { key, reason } => {
                // The store's own words go to the log only: they may name
                // hosts or accounts.
                eprintln!(
                    "edgeplug uploader: reading {key} from the configuration store failed: {reason}"
                );
                Error::Unavailable(format!("reading {key} from the configuration store failed"))
            }
            ConfigError::Missing(_) | ConfigError::Invalid { .. } => {
                Error::Internal(err.to_string())
            }
        }
    }
}

/// The URL scheme used to reach the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP (local stores).
    Http,
    /// HTTPS.
    Https,
}

impl Scheme {
    /// The scheme as it appears in a URL.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// A parsed `s3-endpoint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `http` or `https`.
    pub scheme: Scheme,
    /// The host, lower-cased; an IPv6 literal keeps its brackets.
    pub host: String,
    /// The port, `None` when it is the scheme's default. Dropping the
    /// default port matters: the `Host` header a browser or the HTTP host
    /// sends omits it, and `host` is a signed header.
    pub port: Option<u16>,
}

impl Endpoint {
    /// Parses `scheme://host[:port]` (a trailing `/` is allowed). User info,
    /// a path, a query or a fragment are refused.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let invalid = |reason| ConfigError::Invalid {
            key: ENDPOINT,
            reason,
        };
        // `http::Uri` silently drops a fragment; refuse it instead.
        if text.contains('#') {
            return Err(invalid("must not have a fragment"));
        }
        let uri: http::Uri = text
            .parse()
            .map_err(|_| invalid("is not a URL of the form scheme://host[:port]"))?;
        let scheme = match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
            Some("http") => Scheme::Http,
            Some("https") => Scheme::Https,
            Some(_) => return Err(invalid("must use the http or https scheme")),
            None => return Err(invalid("must start with http:// or https://")),
        };
        let authority = uri.authority().ok_or_else(|| invalid("must name a host"))?;
        // Checked before anything else about the authority: user info would
        // put credentials into every URL (and into logs).
        if authority.as_str().contains('@') {
            return Err(invalid("must not contain user info"));
        }
        if !matches!(
            uri.path_and_query().map(|p| p.as_str()),
            None | Some("" | "/")
        ) {
            return Err(invalid("must not have a path or a query"));
        }
        let host = authority.host().to_ascii_lowercase();
        if host.is_empty() {
            return Err(invalid("must name a host"));
        }
        // Parsed by hand: `http` treats an unparsable port as no port at all.
        let port_text = authority
            .as_str()
            .get(authority.host().len()..)
            .unwrap_or_default();
        let port = match port_text.strip_prefix(':') {
            None if port_text.is_empty() => None,
            None => return Err(invalid("has an invalid port")),
            Some(digits) => match digits.parse::<u16>() {
                Ok(0) | Err(_) => return Err(invalid("has an invalid port")),
                Ok(p) if p == scheme.default_port() => None,
                Ok(p) => Some(p),
            },
        };
        Ok(Self { scheme, host, port })
    }

    /// `host[:port]`, with the port only when it is not the default.
    pub fn authority(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.clone(),
        }
    }

    /// Whether the host is an IP literal (which cannot take a bucket prefix).
    pub fn host_is_ip(&self) -> bool {
        self.host.starts_with('[') || self.host.parse::<Ipv4Addr>().is_ok()
    }
}

/// How the bucket appears in object URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addressing {
    /// `{endpoint}/{bucket}/{key}`: works with every S3-compatible store.
    Path,
    /// `{scheme}://{bucket}.{host}/{key}`: AWS's preferred style.
    Virtual,
}

/// Everything the uploader needs to reach and sign for the store.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    /// Where the store is.
    pub endpoint: Endpoint,
    /// The bucket objects go into.
    pub bucket: String,
    /// The signing region.
    pub region: String,
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key. Never printed.
    pub secret_access_key: String,
    /// The STS session token, if any. Never printed.
    pub session_token: Option<String>,
    /// Path-style or virtual-hosted URLs.
    pub addressing: Addressing,
    /// Every key goes under it, when set: without a trailing `/`, joined
    /// to the key with exactly one.
    pub key_prefix: Option<String>,
    /// Whether `PutObject` and `CompleteMultipartUpload` carry
    /// `If-None-Match: *`.
    pub refuse_overwrite: bool,
    /// The outgoing requests' timeouts.
    pub timeouts: Timeouts,
    /// Bodies of known length above this go multipart (bytes).
    pub multipart_threshold: u64,
    /// The configured part size (bytes, 5 MiB to 5 GiB).
    pub part_size: u64,
    /// How idempotent requests are retried.
    pub retry: RetryPolicy,
}

impl fmt::Debug for Config {
    // Hand-written so that a `{:?}` anywhere can never print a secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"[redacted]")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "[redacted]"),
            )
            .field("addressing", &self.addressing)
            .field("key_prefix", &self.key_prefix)
            .field("refuse_overwrite", &self.refuse_overwrite)
            .field("timeouts", &self.timeouts)
            .field("multipart_threshold", &self.multipart_threshold)
            .field("part_size", &self.part_size)
            .field("retry", &self.retry)
            .finish()
    }
}

impl Config {
    /// Reads the configuration through `get`, which returns a key's value,
    /// `None` when it is unset, or the store's error text.
    ///
    /// Values are trimmed; a blank value counts as unset (config systems
    /// often cannot delete a key, and a stray newline in a secret file is a
    /// classic).
    pub fn from_lookup(
        mut get: impl FnMut(&str) -> Result<Option<String>, String>,
    ) -> Result<Self, ConfigError> {
        let mut read = |key: &'static str| -> Result<Option<String>, ConfigError> {
            let value = get(key).map_err(|reason| ConfigError::Store { key, reason })?;
            Ok(value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()))
        };
        let mut required = |key| read(key)?.ok_or(ConfigError::Missing(key));

        let endpoint = Endpoint::parse(&required(ENDPOINT)?)?;
        let bucket = required(BUCKET)?;
        let access_key_id = required(ACCESS_KEY_ID)?;
        let secret_access_key = required(SECRET_ACCESS_KEY)?;
        let region = read(REGION)?.unwrap_or_else(|| DEFAULT_REGION.to_owned());
        let session_token = read(SESSION_TOKEN)?;
        let addressing = match read(ADDRESSING)?.as_deref() {
            None | Some("path") => Addressing::Path,
            Some("virtual") => Addressing::Virtual,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    key: ADDRESSING,
                    reason: "must be `path` or `virtual`",
                });
            }
        };

        // `uploads` and `uploads/` are the same prefix: the trailing `/`s go,
        // and `object_key` puts exactly one back. Without that, `tenants/a`
        // and the key `bc/x` would make `tenants/abc/x`, another tenant's.
        let key_prefix = match read(KEY_PREFIX)? {
            None => None,
            Some(prefix) => {
                let trimmed = prefix.trim_end_matches('/');
                if trimmed.is_empty() || key::validate(trimmed).is_err() {
                    return Err(ConfigError::Invalid {
                        key: KEY_PREFIX,
                        reason: "must be a valid key: no control or invisible characters, no leading `/`, no empty, `.` or `..` segment",
                    });
                }
                Some(trimmed.to_owned())
            }
        };
        let refuse_overwrite = match read(REFUSE_OVERWRITE)?.map(|v| v.to_ascii_lowercase()) {
            None => false,
            Some(v) if v == "true" => true,
            Some(v) if v == "false" => false,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    key: REFUSE_OVERWRITE,
                    reason: "must be `true` or `false`",
                });
            }
        };
        let mut number = |key: &'static str, default: u64, min: u64, max: u64, reason| {
            let Some(text) = read(key)? else {
                return Ok(default);
            };
            match text.parse::<u64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(ConfigError::Invalid { key, reason }),
            }
        };
        let multipart_threshold = number(
            MULTIPART_THRESHOLD,
            plan::DEFAULT_THRESHOLD,
            0,
            MAX_PUT_BYTES,
            "must be a number of bytes from 0 to 5368709120 (5 GiB)",
        )?;
        let part_size = number(
            PART_SIZE,
            plan::DEFAULT_PART_SIZE,
            MIN_PART_SIZE,
            MAX_PART_SIZE,
            "must be a number of bytes from 5242880 (5 MiB) to 5368709120 (5 GiB)",
        )?;
        let defaults = RetryPolicy::default();
        let retry = RetryPolicy {
            max_attempts: number(
                RETRY_MAX_ATTEMPTS,
                u64::from(defaults.max_attempts),
                1,
                100,
                "must be a whole number from 1 to 100",
            )? as u32,
            base_ms: number(
                RETRY_BASE_MS,
                defaults.base_ms,
                0,
                600_000,
                "must be a number of milliseconds from 0 to 600000",
            )?,
            max_backoff_ms: number(
                RETRY_MAX_BACKOFF_MS,
                defaults.max_backoff_ms,
                0,
                600_000,
                "must be a number of milliseconds from 0 to 600000",
            )?,
            deadline_ms: number(
                RETRY_DEADLINE_MS,
                defaults.deadline_ms,
                0,
                3_600_000,
                "must be a number of milliseconds from 0 to 3600000",
            )?,
        };

        let timeout_reason = "must be a number of milliseconds from 1 to 600000";
        let timeouts = Timeouts {
            connect_ms: number(
                CONNECT_TIMEOUT_MS,
                DEFAULT_CONNECT_TIMEOUT_MS,
                1,
                MAX_TIMEOUT_MS,
                timeout_reason,
            )?,
            first_byte_ms: number(
                FIRST_BYTE_TIMEOUT_MS,
                DEFAULT_FIRST_BYTE_TIMEOUT_MS,
                1,
                MAX_TIMEOUT_MS,
                timeout_reason,
            )?,
            between_bytes_ms: number(
                BETWEEN_BYTES_TIMEOUT_MS,
                DEFAULT_BETWEEN_BYTES_TIMEOUT_MS,
                1,
                MAX_TIMEOUT_MS,
                timeout_reason,
            )?,
        };

        check_bucket(&bucket, addressing, &endpoint)?;
        check(
            REGION,
            &region,
            |c| c.is_ascii_alphanumeric() || c == '-' || c == '_',
            "may hold only ASCII letters, digits, `-` and `_`",
        )?;
        // The id goes into `Credential=<id>/<scope>`: `/`, `,` and spaces
        // would change how that header is read.
        check(
            ACCESS_KEY_ID,
            &access_key_id,
            |c| c.is_ascii_graphic() && !matches!(c, '/' | ',' | '='),
            "may hold only visible ASCII other than `/`, `,` and `=`",
        )?;
        if let Some(token) = &session_token {
            check(
                SESSION_TOKEN,
                token,
                |c| c.is_ascii_graphic(),
                "may hold only visible ASCII (it is sent as a header)",
            )?;
        }

        Ok(Self {
            endpoint,
            bucket,
            region,
            access_key_id,
            secret_access_key,
            session_token,
            addressing,
            key_prefix,
            refuse_overwrite,
            timeouts,
            multipart_threshold,
            part_size,
            retry,
        })
    }

    /// The stored key of `key`: the configured prefix, one `/`, then `key`.
    /// `key` must have passed [`key::validate`]; the whole key is checked
    /// again (its length may now be too long).
    pub fn object_key(&self, key: &str) -> Result<String, Error> {
        let full = match &self.key_prefix {
            Some(prefix) => format!("{prefix}/{key}"),
            None => key.to_owned(),
        };
        key::validate(&full).map_err(|err| {
            Error::InvalidInput(match &self.key_prefix {
                Some(_) => format!("{err} (with the configured key prefix)"),
                None => err.to_string(),
            })
        })?;
        Ok(full)
    }

    /// The secrets to scrub from anything that leaves the component.
    pub fn secrets(&self) -> Vec<&str> {
        let mut secrets = vec![self.secret_access_key.as_str()];
        secrets.extend(self.session_token.as_deref());
        secrets
    }
}

fn check(
    key: &'static str,
    value: &str,
    allowed: impl Fn(char) -> bool,
    reason: &'static str,
) -> Result<(), ConfigError> {
    if value.chars().all(allowed) {
        Ok(())
    } else {
        Err(ConfigError::Invalid { key, reason })
    }
}

fn check_bucket(
    bucket: &str,
    addressing: Addressing,
    endpoint: &Endpoint,
) -> Result<(), ConfigError> {
    let invalid = |reason| ConfigError::Invalid {
        key: BUCKET,
        reason,
    };
    match addressing {
        // A path segment: lenient (legacy buckets and local stores allow
        // upper case and `_`), but never something a URL would rewrite.
        Addressing::Path => {
            let ok = bucket.len() <= 255
                && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
                && bucket
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
            if !ok {
                return Err(invalid(
                    "must be at most 255 ASCII letters, digits, `-`, `.` and `_`, starting with a letter or digit",
                ));
            }
        }
        // A DNS name prefix: S3's bucket-naming rules.
        Addressing::Virtual => {
            let ok = (3..=63).contains(&bucket.len())
                && bucket.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && bucket.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && !bucket.contains("..")
                && bucket.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.')
                });
            if !ok {
                return Err(invalid(
                    "must be a DNS-compatible bucket name (3-63 of a-z, 0-9, `-`, `.`) for virtual addressing",
                ));
            }
            if endpoint.host_is_ip() {
                return Err(ConfigError::Invalid {
                    key: ADDRESSING,
                    reason: "cannot be `virtual` when s3-endpoint is an IP address",
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|key| Ok(map.get(key).cloned()))
    }

    const MINIMAL: [(&str, &str); 4] = [
        (ENDPOINT, "http://127.0.0.1:9000"),
        (BUCKET, "uploads"),
        (ACCESS_KEY_ID, "AKID"),
        (SECRET_ACCESS_KEY, "SECRET/KEY+123"),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut pairs: Vec<_> = MINIMAL
            .iter()
            .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
            .copied()
            .collect();
        pairs.extend_from_slice(extra);
        pairs
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let config = lookup(&MINIMAL).unwrap();
        assert_eq!(
            config.endpoint,
            Endpoint {
                scheme: Scheme::Http,
                host: "127.0.0.1".into(),
                port: Some(9000)
            }
        );
        assert_eq!(config.bucket, "uploads");
        assert_eq!(config.region, "us-east-1");
        assert_eq!(config.session_token, None);
        assert_eq!(config.addressing, Addressing::Path);
        assert_eq!(config.secrets(), vec!["SECRET/KEY+123"]);
    }

    #[test]
    fn optional_keys_are_read() {
        let config = lookup(&with(&[
            (ENDPOINT, "https://s3.eu-west-1.amazonaws.com"),
            (REGION, "eu-west-1"),
            (SESSION_TOKEN, "TOKEN=="),
            (ADDRESSING, "virtual"),
        ]))
        .unwrap();
        assert_eq!(config.region, "eu-west-1");
        assert_eq!(config.session_token.as_deref(), Some("TOKEN=="));
        assert_eq!(config.addressing, Addressing::Virtual);
        assert_eq!(config.secrets(), vec!["SECRET/KEY+123", "TOKEN=="]);
    }

    #[test]
    fn blank_values_count_as_unset_and_values_are_trimmed() {
        let config = lookup(&with(&[
            (REGION, "  "),
            (SESSION_TOKEN, ""),
            (BUCKET, " uploads\n"),
        ]))
        .unwrap();
        assert_eq!(config.region, "us-east-1");
        assert_eq!(config.session_token, None);
        assert_eq!(config.bucket, "uploads");
        assert_eq!(
            lookup(&with(&[(BUCKET, " \n")])),
            Err(ConfigError::Missing(BUCKET))
        );
    }

    #[test]
    fn each_missing_required_key_is_named() {
        for key in [ENDPOINT, BUCKET, ACCESS_KEY_ID, SECRET_ACCESS_KEY] {
            let pairs: Vec<_> = MINIMAL.iter().filter(|(k, _)| *k != key).copied().collect();
            let err = lookup(&pairs).unwrap_err();
            assert_eq!(err, ConfigError::Missing(key));
            assert_eq!(
                Error::from(err),
                Error::Internal(format!("uploader is not configured: missing {key}"))
            );
        }
    }

    #[test]
    fn store_failure_is_unavailable() {
        let err = Config::from_lookup(|_| Err("backend down".into())).unwrap_err();
        assert_eq!(
            Error::from(err),
            Error::Unavailable("reading s3-endpoint from the configuration store failed".into())
        );
    }

    #[test]
    fn endpoints_parse() {
        let parse = |s| Endpoint::parse(s).map(|e| (e.scheme, e.authority()));
        assert_eq!(
            parse("http://127.0.0.1:9000"),
            Ok((Scheme::Http, "127.0.0.1:9000".into()))
        );
        assert_eq!(
            parse("http://localhost:9000/"),
            Ok((Scheme::Http, "localhost:9000".into()))
        );
        assert_eq!(
            parse("https://S3.EU-West-1.amazonaws.com"),
            Ok((Scheme::Https, "s3.eu-west-1.amazonaws.com".into()))
        );
        assert_eq!(
            parse("HTTPS://host:443"),
            Ok((Scheme::Https, "host".into()))
        );
        assert_eq!(parse("http://host:80"), Ok((Scheme::Http, "host".into())));
        assert_eq!(
            parse("http://host:443"),
            Ok((Scheme::Http, "host:443".into()))
        );
        assert_eq!(
            parse("http://[::1]:9000"),
            Ok((Scheme::Http, "[::1]:9000".into()))
        );
    }

    #[test]
    fn bad_endpoints_are_refused_without_echoing_them() {
        for text in [
            "127.0.0.1:9000",
            "ftp://host",
            "host",
            "http://user:pa55word@host",
            "http://host/prefix",
            "http://host/?q=1",
            "http://host:0",
            "http://host:99999",
            "http://",
            "http://host#frag",
            "not a url",
            "",
        ] {
            let err = Endpoint::parse(text).expect_err(text);
            let message = Error::from(err).to_string();
            assert!(message.contains("s3-endpoint"), "{message}");
            if text.len() > 4 {
                assert!(!message.contains(text), "{message}");
            }
            assert!(!message.contains("pa55word"), "{message}");
        }
    }

    #[test]
    fn bad_addressing_is_internal() {
        let err = lookup(&with(&[(ADDRESSING, "hosted")])).unwrap_err();
        assert_eq!(
            Error::from(err),
            Error::Internal(
                "uploader is misconfigured: s3-addressing must be `path` or `virtual`".into()
            )
        );
    }

    #[test]
    fn virtual_addressing_needs_a_dns_host_and_bucket() {
        assert!(matches!(
            lookup(&with(&[(ADDRESSING, "virtual")])),
            Err(ConfigError::Invalid {
                key: ADDRESSING,
                ..
            })
        ));
        for bucket in ["Uploads", "up_loads", "ab", "a..b", "-ab", "ab-"] {
            assert!(
                matches!(
                    lookup(&with(&[
                        (ENDPOINT, "https://s3.amazonaws.com"),
                        (ADDRESSING, "virtual"),
                        (BUCKET, bucket),
                    ])),
                    Err(ConfigError::Invalid { key: BUCKET, .. })
                ),
                "{bucket}"
            );
        }
        assert!(
            lookup(&with(&[
                (ENDPOINT, "http://localhost:9000"),
                (ADDRESSING, "virtual"),
                (BUCKET, "my.bucket-1"),
            ]))
            .is_ok()
        );
    }

    #[test]
    fn path_buckets_are_lenient_but_safe() {
        for bucket in ["Legacy_Bucket", "a", "uploads.2026"] {
            assert!(lookup(&with(&[(BUCKET, bucket)])).is_ok(), "{bucket}");
        }
        for bucket in ["..", ".", "a/b", "a b", "ü", "a%2f"] {
            assert!(
                matches!(
                    lookup(&with(&[(BUCKET, bucket)])),
                    Err(ConfigError::Invalid { key: BUCKET, .. })
                ),
                "{bucket}"
            );
        }
    }

    #[test]
    fn credentials_and_region_are_checked_without_echo() {
        for (key, value) in [
            (ACCESS_KEY_ID, "AK/ID"),
            (ACCESS_KEY_ID, "AK ID"),
            (SESSION_TOKEN, "tok\nen"),
            (SESSION_TOKEN, "tök"),
            (REGION, "eu/west"),
        ] {
            let err = lookup(&with(&[(key, value)])).unwrap_err();
            assert!(
                matches!(err, ConfigError::Invalid { key: k, .. } if k == key),
                "{key}"
            );
            assert!(!err.to_string().contains(value));
        }
    }

    #[test]
    fn multipart_and_retry_settings_have_defaults() {
        let config = lookup(&MINIMAL).unwrap();
        assert_eq!(config.multipart_threshold, 16 * 1024 * 1024);
        assert_eq!(config.part_size, 8 * 1024 * 1024);
        assert_eq!(config.retry, RetryPolicy::default());
        assert_eq!(config.key_prefix, None);
    }

    #[test]
    fn multipart_and_retry_settings_are_read_and_bounded() {
        let config = lookup(&with(&[
            (MULTIPART_THRESHOLD, "0"),
            (PART_SIZE, "5242880"),
            (RETRY_MAX_ATTEMPTS, "1"),
            (RETRY_BASE_MS, "5"),
            (RETRY_MAX_BACKOFF_MS, "50"),
            (RETRY_DEADLINE_MS, "1000"),
        ]))
        .unwrap();
        assert_eq!(config.multipart_threshold, 0);
        assert_eq!(config.part_size, 5 * 1024 * 1024);
        assert_eq!(
            config.retry,
            RetryPolicy {
                max_attempts: 1,
                base_ms: 5,
                max_backoff_ms: 50,
                deadline_ms: 1000
            }
        );
        for (key, value) in [
            (PART_SIZE, "5242879"),
            (PART_SIZE, "5368709121"),
            (PART_SIZE, "8MiB"),
            (MULTIPART_THRESHOLD, "-1"),
            (MULTIPART_THRESHOLD, "5368709121"),
            (RETRY_MAX_ATTEMPTS, "0"),
            (RETRY_BASE_MS, "1.5"),
        ] {
            let err = lookup(&with(&[(key, value)])).unwrap_err();
            assert!(
                matches!(err, ConfigError::Invalid { key: k, .. } if k == key),
                "{key}={value}"
            );
        }
    }

    #[test]
    fn key_prefix_is_joined_with_exactly_one_slash() {
        for prefix in ["tenants/a", "tenants/a/", "tenants/a///"] {
            let config = lookup(&with(&[(KEY_PREFIX, prefix)])).unwrap();
            assert_eq!(config.key_prefix.as_deref(), Some("tenants/a"));
            assert_eq!(config.object_key("x.txt").unwrap(), "tenants/a/x.txt");
            // Never another tenant's namespace: `tenants/a` + `bc/x`.
            assert_eq!(config.object_key("bc/x").unwrap(), "tenants/a/bc/x");
        }
        let config = lookup(&with(&[(KEY_PREFIX, "raw-")])).unwrap();
        assert_eq!(config.object_key("x.txt").unwrap(), "raw-/x.txt");
        assert_eq!(lookup(&MINIMAL).unwrap().object_key("x").unwrap(), "x");
        for bad in [
            "/abs/",
            "a//b/",
            "./",
            "a/../",
            "tab\t/",
            "../x",
            "/",
            "//",
            "rtl\u{202E}/",
        ] {
            let err = lookup(&with(&[(KEY_PREFIX, bad)])).unwrap_err();
            assert!(
                matches!(
                    err,
                    ConfigError::Invalid {
                        key: KEY_PREFIX,
                        ..
                    }
                ),
                "{err:?}"
            );
        }
        // The whole key must fit in 1024 bytes.
        let config = lookup(&with(&[(KEY_PREFIX, "p")])).unwrap();
        assert!(config.object_key(&"k".repeat(1022)).is_ok());
        assert!(matches!(
            config.object_key(&"k".repeat(1023)),
            Err(Error::InvalidInput(m)) if m.contains("key prefix")
        ));
    }

    #[test]
    fn overwrite_protection_and_timeouts_have_defaults_and_are_read() {
        let config = lookup(&MINIMAL).unwrap();
        assert!(!config.refuse_overwrite);
        assert_eq!(
            config.timeouts,
            Timeouts {
                connect_ms: 5_000,
                first_byte_ms: 15_000,
                between_bytes_ms: 15_000
            }
        );
        let config = lookup(&with(&[
            (REFUSE_OVERWRITE, "TRUE"),
            (CONNECT_TIMEOUT_MS, "100"),
            (FIRST_BYTE_TIMEOUT_MS, "200"),
            (BETWEEN_BYTES_TIMEOUT_MS, "300"),
        ]))
        .unwrap();
        assert!(config.refuse_overwrite);
        assert_eq!(
            config.timeouts,
            Timeouts {
                connect_ms: 100,
                first_byte_ms: 200,
                between_bytes_ms: 300
            }
        );
        assert!(
            !lookup(&with(&[(REFUSE_OVERWRITE, "false")]))
                .unwrap()
                .refuse_overwrite
        );
        for (key, value) in [
            (REFUSE_OVERWRITE, "yes"),
            (REFUSE_OVERWRITE, "1"),
            (CONNECT_TIMEOUT_MS, "0"),
            (FIRST_BYTE_TIMEOUT_MS, "600001"),
            (BETWEEN_BYTES_TIMEOUT_MS, "15s"),
        ] {
            let err = lookup(&with(&[(key, value)])).unwrap_err();
            assert!(
                matches!(err, ConfigError::Invalid { key: k, .. } if k == key),
                "{key}={value}"
            );
        }
    }

    #[test]
    fn debug_never_prints_secrets() {
        let config = lookup(&with(&[(SESSION_TOKEN, "TOKEN-VALUE")])).unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("SECRET/KEY+123"), "{debug}");
        assert!(!debug.contains("TOKEN-VALUE"), "{debug}");
        assert!(debug.contains("AKID"));
    }
}
