//! Checking a caller's `put` / `presign-put` arguments and turning them,
//! with the configuration, into a signed request or a presigned URL.
//!
//! Arguments are checked before the configuration is read, so that a bad
//! key is the caller's 400 even on a misconfigured server, and before the
//! body stream is touched.

use std::time::{Duration, SystemTime};

use crate::checksum::{self, Sha256Digest};
use crate::config::Config;
use crate::error::Error;
use crate::key;
use crate::object_url::ObjectUrl;
use crate::plan::{MAX_OBJECT_BYTES, MAX_PUT_BYTES};
use crate::signing;

/// The longest a presigned URL may stay valid: 7 days, SigV4's limit.
pub const MAX_PRESIGN_SECS: u32 = 7 * 24 * 60 * 60;

/// The longest `content-type` accepted, in bytes.
const MAX_CONTENT_TYPE_BYTES: usize = 1024;

/// Checked arguments of a `put`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutInput<'a> {
    /// The caller's key (without the configured prefix).
    pub key: &'a str,
    /// The content type to store, trimmed.
    pub content_type: Option<&'a str>,
    /// The declared length, when known.
    pub content_length: Option<u64>,
    /// The most bytes the body may have, when limited.
    pub max_length: Option<u64>,
}

impl<'a> PutInput<'a> {
    /// Checks the key and the content type, and refuses a declared length
    /// above `max_length` (or above S3's 5 TiB) before anything is read or
    /// sent.
    pub fn check(
        key: &'a str,
        content_type: Option<&'a str>,
        content_length: Option<u64>,
        max_length: Option<u64>,
    ) -> Result<Self, Error> {
        key::validate(key)?;
        let content_type = check_content_type(content_type)?;
        if let (Some(length), Some(max)) = (content_length, max_length)
            && length > max
        {
            return Err(Error::TooLarge(max));
        }
        if content_length.is_some_and(|length| length > MAX_OBJECT_BYTES) {
            return Err(Error::TooLarge(MAX_OBJECT_BYTES));
        }
        Ok(Self {
            key,
            content_type,
            content_length,
            max_length,
        })
    }
}

/// An HTTP method the uploader sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `PUT`: an object, a part.
    Put,
    /// `POST`: create or complete a multipart upload.
    Post,
    /// `DELETE`: abort a multipart upload.
    Delete,
    /// `HEAD`: does the object exist, and what is it.
    Head,
}

impl Method {
    /// The method's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Put => "PUT",
            Method::Post => "POST",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
        }
    }
}

/// A request to the store, signed and ready to send (its body is sent
/// separately).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    /// What S3 calls it (`PutObject`, `UploadPart`, ...), for messages.
    pub operation: &'static str,
    /// The method.
    pub method: Method,
    /// The object's URL (scheme, authority, path).
    pub url: ObjectUrl,
    /// The path with the query, as sent.
    pub path_with_query: String,
    /// Every header to send (`host` excluded: the HTTP host sets it).
    pub headers: Vec<(String, String)>,
}

/// Builds the S3 requests about one object.
#[derive(Debug, Clone, Copy)]
pub struct ObjectRequests<'a> {
    config: &'a Config,
    key: &'a str,
}

impl<'a> ObjectRequests<'a> {
    /// Requests about the stored key `key` (prefix included, validated).
    pub fn new(config: &'a Config, key: &'a str) -> Self {
        Self { config, key }
    }

    fn sign(
        &self,
        operation: &'static str,
        method: Method,
        query: Option<String>,
        headers: Vec<(String, String)>,
        payload: &Sha256Digest,
        time: SystemTime,
    ) -> Result<SignedRequest, Error> {
        let url = ObjectUrl::new(self.config, self.key);
        let (full, path_with_query) = match &query {
            Some(q) => (format!("{}?{q}", url.to_url()), format!("{}?{q}", url.path)),
            None => (url.to_url(), url.path.clone()),
        };
        let headers = signing::sign_request_headers(
            self.config,
            method.as_str(),
            &full,
            &url.authority,
            &headers,
            &checksum::to_hex(payload),
            time,
        )?;
        Ok(SignedRequest {
            operation,
            method,
            url,
            path_with_query,
            headers,
        })
    }

    /// `PutObject` of a body of `length` bytes whose SHA-256 is `sha256`:
    /// the store checks it twice, as the signed payload hash and as
    /// `x-amz-checksum-sha256`, which it also stores with the object.
    pub fn put_object(
        &self,
        content_type: Option<&str>,
        length: u64,
        sha256: &Sha256Digest,
        time: SystemTime,
    ) -> Result<SignedRequest, Error> {
        let mut headers = vec![("content-length".to_owned(), length.to_string())];
        headers.extend(content_type.map(|ct| ("content-type".to_owned(), ct.to_owned())));
        headers.extend(self.if_none_match());
        headers.push(("x-amz-checksum-sha256".to_owned(), checksum::base64(sha256)));
        self.sign("PutObject", Method::Put, None, headers, sha256, time)
    }

    /// `If-None-Match: *` when the configuration refuses overwrites: the
    /// store then answers 412 `PreconditionFailed` for a key that is taken.
    /// Signed like every other header.
    fn if_none_match(&self) -> Option<(String, String)> {
        self.config
            .refuse_overwrite
            .then(|| ("if-none-match".to_owned(), "*".to_owned()))
    }

    /// `HeadObject`: whether the object exists, its ETag and its size.
    pub fn head_object(&self, time: SystemTime) -> Result<SignedRequest, Error> {
        self.sign(
            "HeadObject",
            Method::Head,
            None,
            // Stores that check the payload hash want a declared length.
            vec![("content-length".to_owned(), "0".to_owned())],
            &checksum::sha256(b""),
            time,
        )
    }

    /// `CreateMultipartUpload`, asking for SHA-256 part checksums.
    pub fn create_multipart(
        &self,
        content_type: Option<&str>,
        time: SystemTime,
    ) -> Result<SignedRequest, Error> {
        let mut headers = vec![("content-length".to_owned(), "0".to_owned())];
        headers.extend(content_type.map(|ct| ("content-type".to_owned(), ct.to_owned())));
        headers.push(("x-amz-checksum-algorithm".to_owned(), "SHA256".to_owned()));
        self.sign(
            "CreateMultipartUpload",
            Method::Post,
            Some("uploads".to_owned()),
            headers,
            &checksum::sha256(b""),
            time,
        )
    }

    /// `UploadPart` number `number` of `length` bytes whose SHA-256 is
    /// `sha256`.
    pub fn upload_part(
        &self,
        upload_id: &str,
        number: u32,
        length: u64,
        sha256: &Sha256Digest,
        time: SystemTime,
    ) -> Result<SignedRequest, Error> {
        let headers = vec![
            ("content-length".to_owned(), length.to_string()),
            ("x-amz-checksum-sha256".to_owned(), checksum::base64(sha256)),
        ];
        self.sign(
            "UploadPart",
            Method::Put,
            Some(format!(
                "partNumber={number}&uploadId={}",
                key::encode_component(upload_id)
            )),
            headers,
            sha256,
            time,
        )
    }

    /// `CompleteMultipartUpload` with the XML `body`.
    pub fn complete_multipart(
        &self,
        upload_id: &str,
        body: &[u8],
        time: SystemTime,
    ) -> Result<SignedRequest, Error> {
        let mut headers = vec![
            ("content-length".to_owned(), body.len().to_string()),
            ("content-type".to_owned(), "application/xml".to_owned()),
        ];
        headers.extend(self.if_none_match());
        self.sign(
            "CompleteMultipartUpload",
            Method::Post,
            Some(format!("uploadId={}", key::encode_component(upload_id))),
            headers,
            &checksum::sha256(body),
            time,
        )
    }

    /// `AbortMultipartUpload`.
    pub fn abort_multipart(
        &self,
        upload_id: &str,
        time: SystemTime,
    ) -> Result<SignedRequest, Error> {
        self.sign(
            "AbortMultipartUpload",
            Method::Delete,
            Some(format!("uploadId={}", key::encode_component(upload_id))),
            // Stores that check the payload hash want a declared length.
            vec![("content-length".to_owned(), "0".to_owned())],
            &checksum::sha256(b""),
            time,
        )
    }
}

/// A presigned `PUT`, as the WIT `presigned-request` carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedPut {
    /// The URL, signature included.
    pub url: String,
    /// When it stops working, in seconds since the Unix epoch.
    pub expires_at: u64,
    /// Headers the client must send as given (they are signed).
    pub headers: Vec<(String, String)>,
}

/// Checked arguments of a `presign-put`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignInput<'a> {
    key: &'a str,
    content_type: &'a str,
    content_length: u64,
    expires_in: Duration,
}

impl<'a> PresignInput<'a> {
    /// Checks the key, the lifetime (1 s to 7 days), the content type and
    /// the content length. Both are required, because both are signed: the
    /// store then refuses another type, and a body of another length. A
    /// length above `max_length`, or above what one `PUT` may carry (5 GiB),
    /// is refused as `too-large`.
    pub fn check(
        key: &'a str,
        expires_in_secs: u32,
        content_type: Option<&'a str>,
        content_length: Option<u64>,
        max_length: Option<u64>,
    ) -> Result<Self, Error> {
        key::validate(key)?;
        check_expiry(expires_in_secs)?;
        let content_type = check_content_type(content_type)?.ok_or_else(|| {
            Error::InvalidInput(
                "content-type is required: a presigned PUT binds the type it stores".into(),
            )
        })?;
        let content_length = content_length.ok_or_else(|| {
            Error::InvalidInput(
                "content-length is required: a presigned PUT binds the size it stores".into(),
            )
        })?;
        if let Some(max) = max_length
            && content_length > max
        {
            return Err(Error::TooLarge(max));
        }
        if content_length > MAX_PUT_BYTES {
            return Err(Error::TooLarge(MAX_PUT_BYTES));
        }
        Ok(Self {
            key,
            content_type,
            content_length,
            expires_in: Duration::from_secs(u64::from(expires_in_secs)),
        })
    }

    /// Returns the presigned request for the stored key `stored_key` (the
    /// key with any configured prefix), valid from `time` on.
    pub fn presign(
        &self,
        config: &Config,
        stored_key: &str,
        time: SystemTime,
    ) -> Result<PresignedPut, Error> {
        let url = ObjectUrl::new(config, stored_key);
        let url = signing::presign_put(
            config,
            &url,
            Some(self.content_type),
            Some(self.content_length),
            self.expires_in,
            time,
        )?;
        Ok(PresignedPut {
            url,
            expires_at: unix_secs(time).saturating_add(self.expires_in.as_secs()),
            headers: vec![
                ("content-type".to_owned(), self.content_type.to_owned()),
                ("content-length".to_owned(), self.content_length.to_string()),
            ],
        })
    }

    /// The caller's key (without the configured prefix).
    pub fn key(&self) -> &'a str {
        self.key
    }
}

/// Seconds since the Unix epoch at `time` (0 before it).
pub(crate) fn unix_secs(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A presigned URL or policy lives 1 s to 7 days (SigV4's limit).
pub(crate) fn check_expiry(expires_in_secs: u32) -> Result<(), Error> {
    if (1..=MAX_PRESIGN_SECS).contains(&expires_in_secs) {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "expires-in-secs must be between 1 and {MAX_PRESIGN_SECS} (7 days), got {expires_in_secs}"
        )))
    }
}

/// A content type must be a header value we can send and sign: visible
/// ASCII and spaces, trimmed, not empty.
pub(crate) fn check_content_type(content_type: Option<&str>) -> Result<Option<&str>, Error> {
    let Some(content_type) = content_type else {
        return Ok(None);
    };
    // Trimmed because SigV4 signs the trimmed value and the host may send
    // the raw one: both must agree.
    let content_type = content_type.trim();
    if content_type.is_empty() {
        return Err(Error::InvalidInput("content-type must not be empty".into()));
    }
    if content_type.len() > MAX_CONTENT_TYPE_BYTES {
        return Err(Error::InvalidInput(format!(
            "content-type is longer than {MAX_CONTENT_TYPE_BYTES} bytes"
        )));
    }
    if !content_type.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        return Err(Error::InvalidInput(
            "content-type may hold only visible ASCII characters and spaces".into(),
        ));
    }
    Ok(Some(content_type))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::from_lookup(|k| {
            Ok(match k {
                "s3-endpoint" => Some("http://127.0.0.1:9000".to_owned()),
                "s3-bucket" => Some("b".to_owned()),
                "s3-access-key-id" => Some("AKID".to_owned()),
                "s3-secret-access-key" => Some("SECRET".to_owned()),
                _ => None,
            })
        })
        .unwrap()
    }

    fn time() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600)
    }

    fn names(request: &SignedRequest) -> Vec<&str> {
        request.headers.iter().map(|(k, _)| k.as_str()).collect()
    }

    fn header<'r>(request: &'r SignedRequest, name: &str) -> Option<&'r str> {
        request
            .headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn put_length_is_optional_but_bounded() {
        assert!(PutInput::check("k", None, None, None).is_ok());
        assert!(PutInput::check("k", None, Some(MAX_OBJECT_BYTES), None).is_ok());
        assert_eq!(
            PutInput::check("k", None, Some(MAX_OBJECT_BYTES + 1), None),
            Err(Error::TooLarge(MAX_OBJECT_BYTES))
        );
    }

    #[test]
    fn max_length_refuses_a_longer_declared_length_up_front() {
        assert_eq!(
            PutInput::check("k", None, Some(11), Some(10)),
            Err(Error::TooLarge(10))
        );
        assert!(PutInput::check("k", None, Some(10), Some(10)).is_ok());
        assert!(PutInput::check("k", None, None, Some(10)).is_ok());
    }

    #[test]
    fn key_is_checked_first() {
        assert!(matches!(
            PutInput::check("/k", Some("\n"), Some(u64::MAX), Some(1)),
            Err(Error::InvalidInput(m)) if m.contains("key")
        ));
    }

    #[test]
    fn content_types_are_checked() {
        assert_eq!(
            PutInput::check("k", Some(" text/plain; charset=utf-8 "), Some(1), None)
                .unwrap()
                .content_type,
            Some("text/plain; charset=utf-8")
        );
        for bad in ["", "  ", "text/\u{7f}", "tëxt/plain", "a\r\nx-evil: 1"] {
            assert!(
                matches!(
                    PutInput::check("k", Some(bad), Some(1), None),
                    Err(Error::InvalidInput(m)) if m.starts_with("content-type")
                ),
                "{bad:?}"
            );
        }
        let long = "a".repeat(MAX_CONTENT_TYPE_BYTES + 1);
        assert!(PutInput::check("k", Some(&long), Some(1), None).is_err());
    }

    #[test]
    fn put_object_sends_and_signs_its_checksum() {
        let sha = checksum::sha256(b"abc");
        let request = ObjectRequests::new(&config(), "dir/file name")
            .put_object(Some("text/plain"), 3, &sha, time())
            .unwrap();
        assert_eq!(request.method, Method::Put);
        assert_eq!(
            request.url.to_url(),
            "http://127.0.0.1:9000/b/dir/file%20name"
        );
        assert_eq!(request.path_with_query, "/b/dir/file%20name");
        assert_eq!(
            names(&request),
            [
                "content-length",
                "content-type",
                "x-amz-checksum-sha256",
                "x-amz-date",
                "authorization",
                "x-amz-content-sha256"
            ]
        );
        assert_eq!(
            header(&request, "x-amz-checksum-sha256"),
            Some("ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=")
        );
        assert_eq!(
            header(&request, "x-amz-content-sha256"),
            Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert!(
            header(&request, "authorization").unwrap().contains(
                "SignedHeaders=content-length;content-type;host;x-amz-checksum-sha256;x-amz-content-sha256;x-amz-date,"
            )
        );
    }

    #[test]
    fn multipart_requests_have_the_s3_shape() {
        let config = config();
        let requests = ObjectRequests::new(&config, "a b");
        let create = requests
            .create_multipart(Some("video/mp4"), time())
            .unwrap();
        assert_eq!(create.method, Method::Post);
        assert_eq!(create.path_with_query, "/b/a%20b?uploads");
        assert_eq!(header(&create, "x-amz-checksum-algorithm"), Some("SHA256"));
        assert_eq!(header(&create, "content-type"), Some("video/mp4"));

        let sha = checksum::sha256(b"part");
        let part = requests.upload_part("id/+=", 7, 4, &sha, time()).unwrap();
        assert_eq!(part.method, Method::Put);
        assert_eq!(
            part.path_with_query,
            "/b/a%20b?partNumber=7&uploadId=id%2F%2B%3D"
        );
        assert_eq!(header(&part, "content-length"), Some("4"));
        assert_eq!(
            header(&part, "x-amz-checksum-sha256").map(str::to_owned),
            Some(checksum::base64(&sha))
        );
        assert_eq!(
            header(&part, "x-amz-content-sha256").map(str::to_owned),
            Some(checksum::to_hex(&sha))
        );

        let complete = requests.complete_multipart("id", b"<x/>", time()).unwrap();
        assert_eq!(complete.method, Method::Post);
        assert_eq!(complete.path_with_query, "/b/a%20b?uploadId=id");
        assert_eq!(header(&complete, "content-length"), Some("4"));

        let abort = requests.abort_multipart("id", time()).unwrap();
        assert_eq!(abort.method, Method::Delete);
        assert_eq!(abort.path_with_query, "/b/a%20b?uploadId=id");
        for request in [&create, &part, &complete, &abort] {
            assert!(!request.headers.iter().any(|(_, v)| v.contains("SECRET")));
        }
    }

    #[test]
    fn presign_lifetime_is_bounded() {
        let check = |secs| PresignInput::check("k", secs, Some("text/plain"), Some(1), None);
        for secs in [0, MAX_PRESIGN_SECS + 1, u32::MAX] {
            assert!(
                matches!(check(secs), Err(Error::InvalidInput(m)) if m.starts_with("expires-in-secs")),
                "{secs}"
            );
        }
        assert!(check(1).is_ok());
        assert!(check(MAX_PRESIGN_SECS).is_ok());
    }

    #[test]
    fn presign_requires_content_type_and_content_length_naming_them() {
        assert!(matches!(
            PresignInput::check("k", 60, None, Some(1), None),
            Err(Error::InvalidInput(m)) if m.starts_with("content-type is required")
        ));
        assert!(matches!(
            PresignInput::check("k", 60, Some("text/plain"), None, None),
            Err(Error::InvalidInput(m)) if m.starts_with("content-length is required")
        ));
        assert!(matches!(
            PresignInput::check("k", 60, Some("  "), Some(1), None),
            Err(Error::InvalidInput(m)) if m.starts_with("content-type")
        ));
    }

    #[test]
    fn presign_checks_key_content_type_and_max_length() {
        let ct = Some("text/plain");
        assert!(PresignInput::check("a/../b", 60, ct, Some(1), None).is_err());
        assert!(PresignInput::check("a\u{202E}b", 60, ct, Some(1), None).is_err());
        assert!(PresignInput::check("k", 60, Some("bad\u{1}"), Some(1), None).is_err());
        assert_eq!(
            PresignInput::check("k", 60, ct, Some(11), Some(10)),
            Err(Error::TooLarge(10))
        );
        assert!(PresignInput::check("k", 60, ct, Some(10), Some(10)).is_ok());
        assert_eq!(
            PresignInput::check("k", 60, ct, Some(MAX_PUT_BYTES + 1), None),
            Err(Error::TooLarge(MAX_PUT_BYTES))
        );
    }

    #[test]
    fn presigned_request_binds_type_and_length_and_says_when_it_expires() {
        let presigned =
            PresignInput::check("k", MAX_PRESIGN_SECS, Some("image/png"), Some(42), None)
                .unwrap()
                .presign(&config(), "pre/k", time())
                .unwrap();
        assert!(presigned.url.starts_with("http://127.0.0.1:9000/b/pre/k?"));
        assert!(presigned.url.contains("X-Amz-Expires=604800"));
        assert!(
            presigned
                .url
                .contains("X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost"),
            "{}",
            presigned.url
        );
        assert!(!presigned.url.contains("SECRET"));
        assert_eq!(presigned.expires_at, 1_767_225_600 + 604_800);
        assert_eq!(
            presigned.headers,
            [
                ("content-type".to_owned(), "image/png".to_owned()),
                ("content-length".to_owned(), "42".to_owned())
            ]
        );
    }

    #[test]
    fn overwrite_protection_adds_a_signed_if_none_match_to_put_and_complete_only() {
        let plain = config();
        let requests = ObjectRequests::new(&plain, "k");
        let sha = checksum::sha256(b"x");
        let put = requests.put_object(None, 1, &sha, time()).unwrap();
        assert_eq!(header(&put, "if-none-match"), None);

        let mut protected = config();
        protected.refuse_overwrite = true;
        let requests = ObjectRequests::new(&protected, "k");
        let put = requests.put_object(None, 1, &sha, time()).unwrap();
        let complete = requests.complete_multipart("id", b"<x/>", time()).unwrap();
        for request in [&put, &complete] {
            assert_eq!(header(request, "if-none-match"), Some("*"));
            assert!(
                header(request, "authorization")
                    .unwrap()
                    .contains(";if-none-match;"),
                "signed"
            );
        }
        for request in [
            requests.create_multipart(None, time()).unwrap(),
            requests.upload_part("id", 1, 1, &sha, time()).unwrap(),
            requests.abort_multipart("id", time()).unwrap(),
            requests.head_object(time()).unwrap(),
        ] {
            assert_eq!(
                header(&request, "if-none-match"),
                None,
                "{}",
                request.operation
            );
        }
    }

    #[test]
    fn head_object_is_a_signed_head_of_the_key() {
        let request = ObjectRequests::new(&config(), "a b")
            .head_object(time())
            .unwrap();
        assert_eq!(request.method, Method::Head);
        assert_eq!(request.path_with_query, "/b/a%20b");
        assert!(header(&request, "authorization").is_some());
    }
}
