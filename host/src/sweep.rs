//! Finding and aborting multipart uploads that nobody will finish.
//!
//! A guest that is killed mid-upload (its deadline passed, it trapped, the
//! platform's execution limit ended it) cannot abort the multipart upload it
//! started, and S3 keeps (and bills) its parts until someone does.
//! [`sweep`] lists a bucket's open uploads with `ListMultipartUploads` and
//! aborts those initiated longer ago than a given age; it is what
//! `edgeplug-host s3 sweep` runs. On AWS, a bucket lifecycle rule
//! (`AbortIncompleteMultipartUpload`) does the same without a program.
//!
//! Requests are signed with SigV4 by `aws-sigv4` and sent over HTTP or HTTPS
//! by wasmtime-wasi-http's default client, with timeouts.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// How long one request to the store may take to connect, to start
/// answering, and between two chunks of its answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Characters S3 leaves unescaped in a query value: the unreserved set.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// In a key in the path, `/` also stays as it is.
const KEY_PATH: &AsciiSet = &QUERY_VALUE.remove(b'/');

/// How the bucket appears in URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Addressing {
    /// `https://endpoint/bucket/key` (what local and most S3-compatible
    /// stores expect).
    #[default]
    Path,
    /// `https://bucket.endpoint/key` (AWS's default).
    Virtual,
}

/// The bucket to sweep and the credentials to do it with.
#[derive(Clone)]
pub struct S3Target {
    /// The store's base URL, `scheme://host[:port]`.
    pub endpoint: String,
    /// The bucket.
    pub bucket: String,
    /// The signing region.
    pub region: String,
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key (never printed: `Debug` leaves it out).
    pub secret_access_key: String,
    /// An STS session token, for temporary credentials.
    pub session_token: Option<String>,
    /// Path or virtual-host addressing.
    pub addressing: Addressing,
}

impl std::fmt::Debug for S3Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Target")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("addressing", &self.addressing)
            .finish_non_exhaustive()
    }
}

/// A multipart upload that was created and neither completed nor aborted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenUpload {
    /// The object key it would create.
    pub key: String,
    /// Its upload id.
    pub upload_id: String,
    /// When it was created.
    pub initiated: SystemTime,
}

/// What [`sweep`] did.
#[derive(Debug, Default)]
pub struct SweepReport {
    /// Uploads old enough, aborted (or, on a dry run, that would be).
    pub aborted: Vec<OpenUpload>,
    /// Uploads younger than the age given, left alone.
    pub kept: Vec<OpenUpload>,
    /// Uploads whose abort failed, with why.
    pub failed: Vec<(OpenUpload, SweepError)>,
}

/// Why talking to the store failed. Messages carry no secret.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The target's settings cannot make a request (a bad endpoint URL, say).
    #[error("invalid S3 settings: {0}")]
    Settings(String),
    /// The store could not be reached, or stopped answering.
    #[error("the store could not be reached: {0}")]
    Unreachable(String),
    /// The store answered with an error status.
    #[error("the store answered {status} {code}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// S3's error code, such as `AccessDenied` (empty when none).
        code: String,
    },
    /// The store's answer could not be read as S3 XML.
    #[error("the store's answer could not be read: {0}")]
    BadAnswer(String),
}

/// Lists every open multipart upload of the bucket whose key starts with
/// `prefix`, following the store's pages.
pub async fn list_open_uploads(
    target: &S3Target,
    prefix: &str,
) -> Result<Vec<OpenUpload>, SweepError> {
    let mut uploads = Vec::new();
    let mut markers: Option<(String, String)> = None;
    loop {
        let mut query = format!("uploads=&prefix={}", encode_value(prefix));
        if let Some((key, id)) = &markers {
            query.push_str(&format!(
                "&key-marker={}&upload-id-marker={}",
                encode_value(key),
                encode_value(id)
            ));
        }
        let body = send(target, http::Method::GET, "", &query).await?;
        let page = parse_listing(&body)?;
        uploads.extend(page.uploads);
        match page.next {
            Some(next) if Some(&next) != markers.as_ref() => markers = Some(next),
            _ => break,
        }
    }
    Ok(uploads)
}

/// Aborts one upload; its parts are deleted.
pub async fn abort(target: &S3Target, upload: &OpenUpload) -> Result<(), SweepError> {
    let query = format!("uploadId={}", encode_value(&upload.upload_id));
    send(target, http::Method::DELETE, &upload.key, &query).await?;
    Ok(())
}

/// Aborts every open upload under `prefix` initiated more than `older_than`
/// before `now`. With `dry_run`, only lists what it would abort.
pub async fn sweep(
    target: &S3Target,
    prefix: &str,
    older_than: Duration,
    now: SystemTime,
    dry_run: bool,
) -> Result<SweepReport, SweepError> {
    let cutoff = now.checked_sub(older_than).unwrap_or(UNIX_EPOCH);
    let mut report = SweepReport::default();
    for upload in list_open_uploads(target, prefix).await? {
        if upload.initiated > cutoff {
            report.kept.push(upload);
        } else if dry_run {
            report.aborted.push(upload);
        } else {
            match abort(target, &upload).await {
                Ok(()) => report.aborted.push(upload),
                Err(error) => report.failed.push((upload, error)),
            }
        }
    }
    Ok(report)
}

/// Parses an age such as `24h`, `30m`, `90s`, `7d` or `0s`.
pub fn parse_age(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("`{text}` has no unit: use s, m, h or d (as in 24h)"))?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` does not start with a whole number"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(format!("`{unit}` is not a unit: use s, m, h or d")),
    };
    number
        .checked_mul(seconds)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("`{text}` is too long an age"))
}

fn encode_value(text: &str) -> String {
    utf8_percent_encode(text, QUERY_VALUE).to_string()
}

/// Sends a signed, body-less request about `key` (empty: the bucket) and
/// returns the answer's body, or the store's error.
async fn send(
    target: &S3Target,
    method: http::Method,
    key: &str,
    query: &str,
) -> Result<Bytes, SweepError> {
    let url = object_url(target, key, query)?;
    let uri: http::Uri = url
        .parse()
        .map_err(|e| SweepError::Settings(format!("`{url}` is not a URL: {e}")))?;
    let authority = uri
        .authority()
        .ok_or_else(|| SweepError::Settings(format!("`{url}` has no host")))?
        .to_string();
    let headers = sign_headers(target, method.as_str(), &url, &authority)?;
    let mut request = http::Request::builder().method(method).uri(uri);
    request = request.header(http::header::HOST, authority);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let request = request
        .body(Empty::<Bytes>::new().map_err(|never| match never {}))
        .map_err(|e| SweepError::Settings(e.to_string()))?;
    let options = wasmtime_wasi_http::RequestOptions {
        connect_timeout: Some(REQUEST_TIMEOUT),
        first_byte_timeout: Some(REQUEST_TIMEOUT),
        between_bytes_timeout: Some(REQUEST_TIMEOUT),
    };
    let (response, connection) = wasmtime_wasi_http::default_send_request(request, Some(options))
        .await
        .map_err(|e| SweepError::Unreachable(e.to_string()))?;
    let connection = tokio::spawn(connection);
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| SweepError::Unreachable(e.to_string()))?
        .to_bytes();
    connection.abort();
    if (200..300).contains(&status) {
        Ok(body)
    } else {
        Err(SweepError::Refused {
            status,
            code: error_code(&body),
        })
    }
}

fn object_url(target: &S3Target, key: &str, query: &str) -> Result<String, SweepError> {
    let endpoint = target.endpoint.trim_end_matches('/');
    let (scheme, host) = endpoint.split_once("://").ok_or_else(|| {
        SweepError::Settings(format!(
            "the endpoint `{endpoint}` needs a scheme (http:// or https://)"
        ))
    })?;
    let key = utf8_percent_encode(key, KEY_PATH);
    Ok(match target.addressing {
        Addressing::Path => format!("{scheme}://{host}/{}/{key}?{query}", target.bucket),
        Addressing::Virtual => format!("{scheme}://{}.{host}/{key}?{query}", target.bucket),
    })
}

fn sign_headers(
    target: &S3Target,
    method: &str,
    url: &str,
    authority: &str,
) -> Result<Vec<(String, String)>, SweepError> {
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    let identity = Credentials::new(
        &target.access_key_id,
        &target.secret_access_key,
        target.session_token.clone(),
        None,
        "edgeplug-sweep",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&target.region)
        .name("s3")
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .map_err(|e| SweepError::Settings(format!("cannot sign: {e}")))?
        .into();
    let signable = SignableRequest::new(
        method,
        url,
        [("host", authority)].into_iter(),
        SignableBody::Bytes(b""),
    )
    .map_err(|e| SweepError::Settings(format!("cannot sign: {e}")))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| SweepError::Settings(format!("cannot sign: {e}")))?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect())
}

/// One page of `ListMultipartUploads`: its uploads, and the markers of the
/// next page when there is one.
struct ListingPage {
    uploads: Vec<OpenUpload>,
    next: Option<(String, String)>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListingXml {
    #[serde(default, rename = "Upload")]
    uploads: Vec<UploadXml>,
    #[serde(default)]
    is_truncated: bool,
    next_key_marker: Option<String>,
    next_upload_id_marker: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UploadXml {
    key: String,
    upload_id: String,
    initiated: String,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorXml {
    code: String,
}

fn parse_listing(body: &[u8]) -> Result<ListingPage, SweepError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| SweepError::BadAnswer("the listing is not UTF-8".into()))?;
    let listing: ListingXml = quick_xml::de::from_str(text)
        .map_err(|e| SweepError::BadAnswer(format!("ListMultipartUploadsResult: {e}")))?;
    let uploads = listing
        .uploads
        .into_iter()
        .map(|upload| {
            let initiated = parse_timestamp(&upload.initiated).ok_or_else(|| {
                SweepError::BadAnswer(format!("`{}` is not a timestamp", upload.initiated))
            })?;
            Ok(OpenUpload {
                key: upload.key,
                upload_id: upload.upload_id,
                initiated,
            })
        })
        .collect::<Result<_, SweepError>>()?;
    let next = match (
        listing.is_truncated,
        listing.next_key_marker,
        listing.next_upload_id_marker,
    ) {
        (true, Some(key), Some(id)) => Some((key, id)),
        _ => None,
    };
    Ok(ListingPage { uploads, next })
}

fn error_code(body: &[u8]) -> String {
    std::str::from_utf8(body)
        .ok()
        .and_then(|text| quick_xml::de::from_str::<ErrorXml>(text).ok())
        .map(|error| error.code)
        .unwrap_or_default()
}

/// Parses S3's `YYYY-MM-DDTHH:MM:SS[.fff]Z`.
fn parse_timestamp(text: &str) -> Option<SystemTime> {
    let text = text.strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let mut date = date.splitn(3, '-').map(str::parse::<i64>);
    let (year, month, day) = (date.next()?.ok()?, date.next()?.ok()?, date.next()?.ok()?);
    let time = time.split('.').next()?;
    let mut time = time.splitn(3, ':').map(str::parse::<u64>);
    let (hour, minute, second) = (time.next()?.ok()?, time.next()?.ok()?, time.next()?.ok()?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let seconds = u64::try_from(days).ok()? * 86_400 + hour * 3_600 + minute * 60 + second;
    UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_parse_with_a_unit() {
        assert_eq!(parse_age("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_age("30m"), Ok(Duration::from_secs(1_800)));
        assert_eq!(parse_age("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_age("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert!(parse_age("24").is_err());
        assert!(parse_age("h").is_err());
        assert!(parse_age("5w").is_err());
        assert!(parse_age("99999999999999999999d").is_err());
    }

    #[test]
    fn timestamps_parse_as_utc() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some(UNIX_EPOCH));
        assert_eq!(
            parse_timestamp("2026-12-02T11:24:58.000Z"),
            Some(UNIX_EPOCH + Duration::from_secs(1_796_210_698))
        );
        assert_eq!(parse_timestamp("2026-13-02T11:24:58Z"), None);
        assert_eq!(parse_timestamp("yesterday"), None);
    }

    #[test]
    fn a_listing_page_parses_with_its_next_markers() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>uploads</Bucket><IsTruncated>true</IsTruncated>
  <NextKeyMarker>b.bin</NextKeyMarker><NextUploadIdMarker>id-2</NextUploadIdMarker>
  <Upload><Key>a.bin</Key><UploadId>id-1</UploadId><Initiated>1970-01-02T00:00:00.000Z</Initiated></Upload>
  <Upload><Key>b.bin</Key><UploadId>id-2</UploadId><Initiated>1970-01-01T00:00:01Z</Initiated></Upload>
</ListMultipartUploadsResult>"#;
        let page = parse_listing(xml).expect("parses");
        assert_eq!(page.uploads.len(), 2);
        assert_eq!(page.uploads[0].key, "a.bin");
        assert_eq!(
            page.uploads[0].initiated,
            UNIX_EPOCH + Duration::from_secs(86_400)
        );
        assert_eq!(page.next, Some(("b.bin".into(), "id-2".into())));
    }

    #[test]
    fn an_empty_listing_has_no_next_page() {
        let xml = b"<ListMultipartUploadsResult><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>";
        let page = parse_listing(xml).expect("parses");
        assert!(page.uploads.is_empty());
        assert!(page.next.is_none());
    }

    #[test]
    fn keys_are_escaped_in_the_path_and_ids_in_the_query() {
        let target = S3Target {
            endpoint: "http://127.0.0.1:9000/".into(),
            bucket: "uploads".into(),
            region: "us-east-1".into(),
            access_key_id: "AKID".into(),
            secret_access_key: "s".into(),
            session_token: None,
            addressing: Addressing::Path,
        };
        let query = format!("uploadId={}", encode_value("a+b/c"));
        assert_eq!(
            object_url(&target, "dir/a b.txt", &query).expect("a URL"),
            "http://127.0.0.1:9000/uploads/dir/a%20b.txt?uploadId=a%2Bb%2Fc"
        );
        let virtual_target = S3Target {
            addressing: Addressing::Virtual,
            ..target
        };
        assert_eq!(
            object_url(&virtual_target, "k", "uploads=").expect("a URL"),
            "http://uploads.127.0.0.1:9000/k?uploads="
        );
    }

    #[test]
    fn the_secret_is_not_in_debug_output() {
        let target = S3Target {
            endpoint: "http://s3.test".into(),
            bucket: "b".into(),
            region: "r".into(),
            access_key_id: "AKID".into(),
            secret_access_key: "never-shown-Zk2".into(),
            session_token: Some("tok-never-shown".into()),
            addressing: Addressing::Path,
        };
        let shown = format!("{target:?}");
        assert!(!shown.contains("never-shown"), "{shown}");
    }
}
