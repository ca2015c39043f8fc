//! AWS Signature V4 for S3, through `aws-sigv4`: headers for a streamed
//! `PUT`, and query parameters for a presigned `PUT` URL.
//!
//! Requests the component sends ([`sign_request_headers`]) sign their
//! payload's real SHA-256: the component holds each body (a small object, a
//! part, an XML document) when it signs, so the store can check that every
//! byte arrived as sent. Presigned URLs sign `UNSIGNED-PAYLOAD`: the browser
//! sends the body.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation,
    SigningSettings, UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;

use crate::config::Config;
use crate::error::Error;
use crate::key;
use crate::object_url::ObjectUrl;

/// The SigV4 service name of S3.
const SERVICE: &str = "s3";

/// Signing failed; `aws-sigv4` refused the request's shape. Its messages
/// describe the request (a header name, the URI), never the credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("signing the S3 request failed: {0}")]
pub struct SignError(String);

impl From<SignError> for Error {
    fn from(err: SignError) -> Self {
        Error::Internal(err.to_string())
    }
}

/// The settings S3 needs. S3 wants the path signed exactly as sent (the
/// key is already encoded once, canonically, by [`key::encode`]) and not
/// normalised (`a/./b` is a different key than `a/b`, though we refuse
/// both), plus the `x-amz-content-sha256` header.
fn s3_settings(location: SignatureLocation, expires_in: Option<Duration>) -> SigningSettings {
    // `SigningSettings` is non-exhaustive: start from the default.
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    settings.signature_location = location;
    settings.expires_in = expires_in;
    settings
}

/// Signs with `config`'s credentials at `time`, for the request `method url`
/// with `headers` (which must include `host`).
fn sign_request(
    config: &Config,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: SignableBody<'_>,
    settings: SigningSettings,
    time: SystemTime,
) -> Result<aws_sigv4::http_request::SigningInstructions, SignError> {
    let credentials = Credentials::new(
        &config.access_key_id,
        &config.secret_access_key,
        config.session_token.clone(),
        None,
        "edgeplug-config",
    );
    // `Identity` lives in aws-smithy-runtime-api; let the builder name it.
    let identity = credentials.into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&config.region)
        .name(SERVICE)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| SignError(e.to_string()))?
        .into();
    let request = SignableRequest::new(method, url, headers.iter().copied(), body)
        .map_err(|e| SignError(e.to_string()))?;
    let (instructions, _signature) = sign(request, &params)
        .map_err(|e| SignError(e.to_string()))?
        .into_parts();
    Ok(instructions)
}

/// Returns the headers to send with a streamed `PUT` of `content_length`
/// bytes to `url`: `content-length`, `content-type` (when given),
/// `x-amz-date`, `authorization`, `x-amz-content-sha256` and, with
/// temporary credentials, `x-amz-security-token`.
///
/// `host` is signed (as `url.authority`) but not returned: `wasi:http` hosts
/// forbid setting it and derive it from the request's authority instead.
pub fn sign_put(
    config: &Config,
    url: &ObjectUrl,
    content_length: u64,
    content_type: Option<&str>,
    time: SystemTime,
) -> Result<Vec<(String, String)>, SignError> {
    let length = content_length.to_string();
    let mut sent = vec![("content-length", length.as_str())];
    sent.extend(content_type.map(|ct| ("content-type", ct)));
    let mut signed = vec![("host", url.authority.as_str())];
    signed.extend_from_slice(&sent);

    let instructions = sign_request(
        config,
        "PUT",
        &url.to_url(),
        &signed,
        SignableBody::UnsignedPayload,
        s3_settings(SignatureLocation::Headers, None),
        time,
    )?;
    let mut headers: Vec<(String, String)> = sent
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    headers.extend(
        instructions
            .headers()
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    Ok(headers)
}

/// Signs a request the component sends itself: `method` to `url` (the
/// whole URL, query included, already canonically encoded) with `headers`
/// (`host` excluded) and a body whose SHA-256 is `payload_sha256_hex`.
///
/// Returns `headers` followed by `x-amz-date`, `authorization`,
/// `x-amz-content-sha256` (the payload hash, which the store verifies) and,
/// with temporary credentials, `x-amz-security-token`.
pub fn sign_request_headers(
    config: &Config,
    method: &str,
    url: &str,
    authority: &str,
    headers: &[(String, String)],
    payload_sha256_hex: &str,
    time: SystemTime,
) -> Result<Vec<(String, String)>, SignError> {
    let mut signed = vec![("host", authority)];
    signed.extend(headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let instructions = sign_request(
        config,
        method,
        url,
        &signed,
        SignableBody::Precomputed(payload_sha256_hex.to_owned()),
        s3_settings(SignatureLocation::Headers, None),
        time,
    )?;
    let mut out = headers.to_vec();
    out.extend(
        instructions
            .headers()
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    Ok(out)
}

/// Returns a URL that lets its holder `PUT` to `url` until `expires_in`
/// after `time`. `host` and, when given, `content-length` and
/// `content-type` are signed, so the uploader must send exactly that
/// `Content-Length` and `Content-Type`: the store refuses any other.
///
/// With temporary credentials the URL carries `X-Amz-Security-Token`, as S3
/// requires; it never carries the secret key.
pub fn presign_put(
    config: &Config,
    url: &ObjectUrl,
    content_type: Option<&str>,
    content_length: Option<u64>,
    expires_in: Duration,
    time: SystemTime,
) -> Result<String, SignError> {
    let length = content_length.map(|n| n.to_string());
    let mut signed = vec![("host", url.authority.as_str())];
    signed.extend(length.as_deref().map(|n| ("content-length", n)));
    signed.extend(content_type.map(|ct| ("content-type", ct)));
    let instructions = sign_request(
        config,
        "PUT",
        &url.to_url(),
        &signed,
        SignableBody::UnsignedPayload,
        // `expires_in` is mandatory here: aws-sigv4 panics without it.
        s3_settings(SignatureLocation::QueryParams, Some(expires_in)),
        time,
    )?;
    let query: Vec<String> = instructions
        .params()
        .iter()
        .map(|(name, value)| {
            format!(
                "{}={}",
                key::encode_component(name),
                key::encode_component(value)
            )
        })
        .collect();
    Ok(format!("{}?{}", url.to_url(), query.join("&")))
}

/// The credential scope of a signature made at `time`:
/// `<access key id>/<yyyymmdd>/<region>/s3/aws4_request`, as the
/// `x-amz-credential` of a POST policy.
pub fn credential(config: &Config, time: SystemTime) -> String {
    format!(
        "{}/{}/{}/{SERVICE}/aws4_request",
        config.access_key_id,
        amz_date(time).get(..8).unwrap_or_default(),
        config.region
    )
}

/// `time` as SigV4's `x-amz-date`: `yyyymmddThhmmssZ`, UTC.
pub fn amz_date(time: SystemTime) -> String {
    let civil = Civil::of(time);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        civil.year, civil.month, civil.day, civil.hour, civil.minute, civil.second
    )
}

/// `time` as a POST policy's `expiration`: ISO 8601 with milliseconds, UTC.
pub fn iso8601(time: SystemTime) -> String {
    let civil = Civil::of(time);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000Z",
        civil.year, civil.month, civil.day, civil.hour, civil.minute, civil.second
    )
}

/// A UTC calendar date and time, to the second.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u64,
    minute: u64,
    second: u64,
}

impl Civil {
    fn of(time: SystemTime) -> Self {
        let secs = time
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 2);
        let rem = secs % 86_400;
        // Howard Hinnant's days-to-civil: the proleptic Gregorian calendar.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Self {
            year,
            month,
            day,
            hour: rem / 3_600,
            minute: rem % 3_600 / 60,
            second: rem % 60,
        }
    }
}

/// Signs a POST policy (the base64 text of its JSON, as the form's `policy`
/// field carries it) at `time`: SigV4's signing key for that day, region
/// and S3 (derived by `aws-sigv4`), HMAC-SHA256 over the policy, in hex.
pub fn sign_post_policy(config: &Config, policy_base64: &str, time: SystemTime) -> String {
    let key = v4::generate_signing_key(&config.secret_access_key, time, &config.region, SERVICE);
    v4::calculate_signature(key, policy_base64.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-01-01T00:00:00Z.
    const JAN_1_2026: u64 = 1_767_225_600;

    fn time() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(JAN_1_2026)
    }

    /// The fixed credentials of the test vectors below.
    const AKID: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const TOKEN: &str = "FQoGZXIvYXdzEXAMPLETOKEN+/=";

    fn config(endpoint: &str, addressing: &str, token: Option<&str>) -> Config {
        Config::from_lookup(|k| {
            Ok(match k {
                "s3-endpoint" => Some(endpoint.to_owned()),
                "s3-bucket" => Some("my-bucket".to_owned()),
                "s3-access-key-id" => Some(AKID.to_owned()),
                "s3-secret-access-key" => Some(SECRET.to_owned()),
                "s3-session-token" => token.map(str::to_owned),
                "s3-addressing" => Some(addressing.to_owned()),
                _ => None,
            })
        })
        .unwrap()
    }

    fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn put_headers_have_the_s3_shape() {
        let config = config("http://127.0.0.1:9000", "path", None);
        let url = ObjectUrl::new(&config, "a/b c.txt");
        let headers = sign_put(&config, &url, 11, Some("text/plain"), time()).unwrap();

        assert_eq!(header(&headers, "content-length"), Some("11"));
        assert_eq!(header(&headers, "content-type"), Some("text/plain"));
        assert_eq!(header(&headers, "x-amz-date"), Some("20260101T000000Z"));
        assert_eq!(
            header(&headers, "x-amz-content-sha256"),
            Some("UNSIGNED-PAYLOAD")
        );
        assert_eq!(header(&headers, "x-amz-security-token"), None);
        assert_eq!(header(&headers, "host"), None, "wasi:http forbids host");
        let auth = header(&headers, "authorization").unwrap();
        let prefix = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/s3/aws4_request, \
             SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date, \
             Signature=";
        assert!(auth.starts_with(prefix), "{auth}");
        let signature = &auth[prefix.len()..];
        assert_eq!(signature.len(), 64);
        assert!(signature.bytes().all(|b| b.is_ascii_hexdigit()));
        for (_, value) in &headers {
            assert!(!value.contains(SECRET));
        }
    }

    // The fixed signatures below come from botocore 1.43.11, an independent
    // SigV4 implementation, given the same credentials, URL and headers:
    //
    //   botocore.auth.get_current_datetime = lambda *a, **k: datetime(2026, 1, 1, tzinfo=utc)
    //   req = AWSRequest(method="PUT", url=URL, headers={"Content-Length": "11", ...})
    //   req.context["client_config"] = Config(s3={"payload_signing_enabled": False})
    //   S3SigV4Auth(creds, "s3", region).add_auth(req)          # header signing
    //   S3SigV4QueryAuth(creds, "s3", region, expires=N).add_auth(req)  # presigning
    //
    // (`payload_signing_enabled` off makes botocore sign UNSIGNED-PAYLOAD.)
    // Python is not needed to run these tests.

    #[test]
    fn put_signature_matches_botocore() {
        let config = config("http://127.0.0.1:9000", "path", None);
        let url = ObjectUrl::new(&config, "photos/ü b+c%.jpg");
        assert_eq!(url.path, "/my-bucket/photos/%C3%BC%20b%2Bc%25.jpg");
        let headers = sign_put(&config, &url, 11, Some("image/jpeg"), time()).unwrap();
        assert_eq!(
            header(&headers, "authorization"),
            Some(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/s3/aws4_request, \
                 SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date, \
                 Signature=26581c42e7349f514941bc8b0504004eb405522dc77247f3775a031026370e3f"
            )
        );
    }

    #[test]
    fn put_signature_with_session_token_matches_botocore() {
        let config = config("https://s3.eu-west-1.amazonaws.com", "virtual", Some(TOKEN));
        let config = Config {
            region: "eu-west-1".into(),
            ..config
        };
        let url = ObjectUrl::new(&config, "a/b c");
        assert_eq!(
            url.to_url(),
            "https://my-bucket.s3.eu-west-1.amazonaws.com/a/b%20c"
        );
        let headers = sign_put(&config, &url, 0, None, time()).unwrap();
        assert_eq!(
            header(&headers, "authorization"),
            Some(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/eu-west-1/s3/aws4_request, \
                 SignedHeaders=content-length;host;x-amz-content-sha256;x-amz-date;x-amz-security-token, \
                 Signature=e4ce26d9e46aa730c66bf52d967bcc902f0a9c93408640afd3db2c2bffec5ca2"
            )
        );
    }

    #[test]
    fn put_with_session_token_signs_it() {
        let config = config("https://s3.eu-west-1.amazonaws.com", "virtual", Some(TOKEN));
        let url = ObjectUrl::new(&config, "k");
        let headers = sign_put(&config, &url, 0, None, time()).unwrap();
        assert_eq!(header(&headers, "x-amz-security-token"), Some(TOKEN));
        assert_eq!(header(&headers, "content-type"), None);
        let auth = header(&headers, "authorization").unwrap();
        assert!(
            auth.contains(
                "SignedHeaders=content-length;host;x-amz-content-sha256;x-amz-date;x-amz-security-token,"
            ),
            "{auth}"
        );
        assert!(!auth.contains(TOKEN));
    }

    #[test]
    fn signed_payload_requests_carry_the_payload_hash() {
        let config = config("http://127.0.0.1:9000", "path", Some(TOKEN));
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let headers = sign_request_headers(
            &config,
            "POST",
            "http://127.0.0.1:9000/my-bucket/a%20b?uploads",
            "127.0.0.1:9000",
            &[("x-amz-checksum-algorithm".into(), "SHA256".into())],
            empty,
            time(),
        )
        .unwrap();
        assert_eq!(header(&headers, "x-amz-checksum-algorithm"), Some("SHA256"));
        assert_eq!(header(&headers, "x-amz-content-sha256"), Some(empty));
        assert_eq!(header(&headers, "x-amz-security-token"), Some(TOKEN));
        let auth = header(&headers, "authorization").unwrap();
        assert!(
            auth.contains(
                "SignedHeaders=host;x-amz-checksum-algorithm;x-amz-content-sha256;x-amz-date;x-amz-security-token,"
            ),
            "{auth}"
        );
        for (_, value) in &headers {
            assert!(!value.contains(SECRET));
        }
    }

    #[test]
    fn presigned_url_has_the_s3_shape() {
        let config = config("http://127.0.0.1:9000", "path", None);
        let url = ObjectUrl::new(&config, "a b");
        let presigned = presign_put(
            &config,
            &url,
            Some("text/plain"),
            None,
            Duration::from_secs(900),
            time(),
        )
        .unwrap();
        assert!(
            presigned.starts_with("http://127.0.0.1:9000/my-bucket/a%20b?"),
            "{presigned}"
        );
        for part in [
            "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            "X-Amz-Credential=AKIDEXAMPLE%2F20260101%2Fus-east-1%2Fs3%2Faws4_request",
            "X-Amz-Date=20260101T000000Z",
            "X-Amz-Expires=900",
            "X-Amz-SignedHeaders=content-type%3Bhost",
            "X-Amz-Signature=",
        ] {
            assert!(presigned.contains(part), "{part} not in {presigned}");
        }
        assert!(!presigned.contains(SECRET));
        assert!(!presigned.contains(&key::encode_component(SECRET)));
        assert!(!presigned.contains("X-Amz-Security-Token"));
    }

    #[test]
    fn presigned_url_without_content_type_signs_host_only() {
        let config = config("https://s3.eu-west-1.amazonaws.com", "virtual", None);
        let url = ObjectUrl::new(&config, "k");
        let presigned =
            presign_put(&config, &url, None, None, Duration::from_secs(60), time()).unwrap();
        assert!(presigned.starts_with("https://my-bucket.s3.eu-west-1.amazonaws.com/k?"));
        assert!(
            presigned.contains("X-Amz-SignedHeaders=host&")
                || presigned.ends_with("X-Amz-SignedHeaders=host")
        );
        assert!(presigned.contains("X-Amz-Expires=60"));
    }

    #[test]
    fn presigned_url_carries_the_session_token_but_not_the_secret() {
        let config = config("http://127.0.0.1:9000", "path", Some(TOKEN));
        let url = ObjectUrl::new(&config, "k");
        let presigned =
            presign_put(&config, &url, None, None, Duration::from_secs(60), time()).unwrap();
        assert!(presigned.contains(&format!(
            "X-Amz-Security-Token={}",
            key::encode_component(TOKEN)
        )));
        assert!(!presigned.contains(SECRET));
        assert!(!presigned.contains(&key::encode_component(SECRET)));
    }

    #[test]
    fn presigned_url_matches_botocore() {
        let config = config("http://127.0.0.1:9000", "path", None);
        let url = ObjectUrl::new(&config, "photos/ü b+c%.jpg");
        let presigned = presign_put(
            &config,
            &url,
            Some("image/jpeg"),
            None,
            Duration::from_secs(3600),
            time(),
        )
        .unwrap();
        assert_eq!(
            presigned,
            "http://127.0.0.1:9000/my-bucket/photos/%C3%BC%20b%2Bc%25.jpg\
             ?X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIDEXAMPLE%2F20260101%2Fus-east-1%2Fs3%2Faws4_request\
             &X-Amz-Date=20260101T000000Z\
             &X-Amz-Expires=3600\
             &X-Amz-SignedHeaders=content-type%3Bhost\
             &X-Amz-Signature=6fadf53a2f29201c58ea9f6796e05a9e8a9aaaca42029413571b3f7c6ae9b83c"
        );
    }

    #[test]
    fn presigned_url_with_session_token_matches_botocore() {
        let config = config("https://s3.eu-west-1.amazonaws.com", "virtual", Some(TOKEN));
        let config = Config {
            region: "eu-west-1".into(),
            ..config
        };
        let url = ObjectUrl::new(&config, "a/b c");
        let presigned = presign_put(
            &config,
            &url,
            None,
            None,
            Duration::from_secs(604_800),
            time(),
        )
        .unwrap();
        // Same parameters as botocore's URL; aws-sigv4 puts the token
        // before the signature, botocore after: order does not matter.
        let mut params: Vec<&str> = presigned
            .split_once('?')
            .map(|(_, q)| q.split('&').collect())
            .unwrap_or_default();
        params.sort_unstable();
        assert_eq!(
            params,
            [
                "X-Amz-Algorithm=AWS4-HMAC-SHA256",
                "X-Amz-Credential=AKIDEXAMPLE%2F20260101%2Feu-west-1%2Fs3%2Faws4_request",
                "X-Amz-Date=20260101T000000Z",
                "X-Amz-Expires=604800",
                "X-Amz-Security-Token=FQoGZXIvYXdzEXAMPLETOKEN%2B%2F%3D",
                "X-Amz-Signature=999b9b454f2409ddcbf760bd6e8e3ce5ebc7800de63621b5ecf605fc98b67949",
                "X-Amz-SignedHeaders=host",
            ]
        );
    }

    #[test]
    fn dates_are_utc_calendar_dates() {
        let at = |secs| SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
        assert_eq!(amz_date(at(JAN_1_2026)), "20260101T000000Z");
        assert_eq!(iso8601(at(JAN_1_2026 + 3600)), "2026-01-01T01:00:00.000Z");
        // 2024-02-29T23:59:59Z, a leap day; 2000-03-01, after a 400-year leap.
        assert_eq!(amz_date(at(1_709_251_199)), "20240229T235959Z");
        assert_eq!(iso8601(at(951_868_800)), "2000-03-01T00:00:00.000Z");
        assert_eq!(amz_date(at(0)), "19700101T000000Z");
        let config = config("http://127.0.0.1:9000", "path", None);
        assert_eq!(
            credential(&config, at(1_709_251_199)),
            "AKIDEXAMPLE/20240229/us-east-1/s3/aws4_request"
        );
    }

    #[test]
    fn presigned_url_binding_length_and_type_matches_botocore() {
        let config = config("http://127.0.0.1:9000", "path", None);
        let url = ObjectUrl::new(&config, "photos/ü b+c%.jpg");
        let presigned = presign_put(
            &config,
            &url,
            Some("image/jpeg"),
            Some(42),
            Duration::from_secs(3600),
            time(),
        )
        .unwrap();
        assert_eq!(
            presigned,
            "http://127.0.0.1:9000/my-bucket/photos/%C3%BC%20b%2Bc%25.jpg\
             ?X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIDEXAMPLE%2F20260101%2Fus-east-1%2Fs3%2Faws4_request\
             &X-Amz-Date=20260101T000000Z\
             &X-Amz-Expires=3600\
             &X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost\
             &X-Amz-Signature=721f9365bf8970d355953c13fe073cef271e1e1edeb0cf42f5c2f48ede28b61a"
        );
    }
}
