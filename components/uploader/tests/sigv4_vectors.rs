//! Fixed SigV4 vectors for the requests the uploader really sends
//! (`ObjectRequests`, signed by `signing::sign_request_headers`: the
//! payload's SHA-256, `x-amz-checksum-sha256`, the query), built the way
//! production builds them: `Config::from_lookup`, `Config::object_key`,
//! then `ObjectRequests`.
//!
//! The expected values come from botocore, an implementation independent of
//! the `aws-sigv4` crate production signs with. They were made by
//!
//! ```text
//! pip install botocore==1.43.11
//! python3 components/uploader/tests/vectors/make_vectors.py
//! ```
//!
//! which writes out every input again (method, key, query, headers, body),
//! encodes the key with Python's `urllib.parse.quote`, signs with
//! `botocore.auth.S3SigV4Auth` at a frozen clock (2026-03-14T15:09:26Z,
//! `botocore.auth.get_current_datetime` patched) with payload signing on,
//! and prints the block between `BEGIN GENERATED` and `END GENERATED`
//! below; `make_vectors.py --check` says whether this file still holds
//! exactly what botocore signs, and `--write` rewrites that block after a
//! deliberate change of what production sends (change the inputs in the
//! script first). Python is not needed to run this test.
//!
//! Each test asserts the URL as sent, and every header production sends
//! (so the signed-header list, `x-amz-content-sha256`,
//! `x-amz-checksum-sha256`, `x-amz-date` and the whole `authorization`) is
//! exactly botocore's, nothing more and nothing less (`host` excepted: the
//! HTTP host sets it; botocore signed it from the URL's authority).

use std::time::{Duration, SystemTime};

use uploader::checksum;
use uploader::config::Config;
use uploader::multipart::{self, CompletedPart};
use uploader::request::{ObjectRequests, SignedRequest};

/// 2026-03-14T15:09:26Z, the time botocore's clock was frozen at.
const UNIX_TIME: u64 = 1_773_500_966;

const AKID: &str = "AKIDVECTORS0EXAMPLE";
/// Test credentials, never printed: assertions below redact them.
const SECRET: &str = "edgeplug-vector-secret/Kq7+Rw2";
const TOKEN: &str = "edgeplug-vector-token/Jx4+Mn8=";

const BUCKET: &str = "edgeplug-vectors";

/// Keys that need escaping: space, `+`, `%`, non-ASCII (`~` stays).
const KEY_1: &str = "photos/ü b+c%.jpg";
const KEY_2: &str = "a b/日本語+x~y (1).txt";

/// Upload ids with characters the query escapes and ones it keeps.
const UPLOAD_1: &str = "2~Vx.y_z-w";
const UPLOAD_2: &str = "VXBsb2Fk+SUQ/x==";

/// What botocore signed: the method, the URL as sent, and every header but
/// `host`, lower-case, sorted by name.
struct Expected {
    method: &'static str,
    url: &'static str,
    headers: &'static [(&'static str, &'static str)],
}

/// The two configurations, as an operator writes them.
#[derive(Clone, Copy)]
enum Flavor {
    /// A local store: path-style, plain HTTP, default region, no prefix.
    Path,
    /// AWS: virtual-hosted, HTTPS, eu-west-1, key prefix `tenants/a/`.
    Virtual,
}

fn config(flavor: Flavor, session_token: bool, refuse_overwrite: bool) -> Config {
    Config::from_lookup(|key| {
        let value = match (key, flavor) {
            ("s3-endpoint", Flavor::Path) => "http://127.0.0.1:9000",
            ("s3-endpoint", Flavor::Virtual) => "https://s3.eu-west-1.amazonaws.com",
            ("s3-addressing", Flavor::Virtual) => "virtual",
            ("s3-region", Flavor::Virtual) => "eu-west-1",
            ("s3-key-prefix", Flavor::Virtual) => "tenants/a/",
            ("s3-bucket", _) => BUCKET,
            ("s3-access-key-id", _) => AKID,
            ("s3-secret-access-key", _) => SECRET,
            ("s3-session-token", _) if session_token => TOKEN,
            ("s3-refuse-overwrite", _) if refuse_overwrite => "true",
            _ => return Ok(None),
        };
        Ok(Some(value.to_owned()))
    })
    .expect("the test configuration is valid")
}

fn time() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(UNIX_TIME)
}

/// Signs what `build` makes for the caller's `key`, stored under the
/// configured prefix as production stores it.
fn sign(
    config: &Config,
    key: &str,
    build: impl FnOnce(ObjectRequests<'_>) -> Result<SignedRequest, uploader::error::Error>,
) -> SignedRequest {
    let stored = config.object_key(key).expect("the test key is valid");
    build(ObjectRequests::new(config, &stored)).expect("the request signs")
}

/// A header value fit to print: the session token (a secret) redacted.
fn shown(value: &str) -> String {
    if value == TOKEN {
        "<the configured session token>".to_owned()
    } else if value.contains(TOKEN) || value.contains(SECRET) {
        "<a value holding a secret>".to_owned()
    } else {
        value.to_owned()
    }
}

fn assert_matches(request: &SignedRequest, expected: &Expected) {
    assert_eq!(request.method.as_str(), expected.method, "method");
    let sent_url = format!(
        "{}://{}{}",
        request.url.scheme.as_str(),
        request.url.authority,
        request.path_with_query
    );
    assert_eq!(sent_url, expected.url, "URL as sent");
    assert!(
        !request.headers.iter().any(|(_, v)| v.contains(SECRET)),
        "a header carries the secret key"
    );
    let mut actual: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), shown(v)))
        .collect();
    actual.sort();
    let expected: Vec<(String, String)> = expected
        .headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), shown(v)))
        .collect();
    assert_eq!(actual, expected, "headers sent (host excepted)");
}

#[test]
fn put_object_path_style() {
    let config = config(Flavor::Path, false, false);
    let body = b"hello world";
    let request = sign(&config, KEY_1, |r| {
        r.put_object(
            Some("image/jpeg"),
            body.len() as u64,
            &checksum::sha256(body),
            time(),
        )
    });
    assert_matches(&request, &botocore::PUT_OBJECT_PATH);
}

#[test]
fn put_object_virtual_style_with_session_token() {
    let config = config(Flavor::Virtual, true, false);
    let body = b"edgeplug\n";
    let request = sign(&config, KEY_2, |r| {
        r.put_object(
            Some("text/plain; charset=utf-8"),
            body.len() as u64,
            &checksum::sha256(body),
            time(),
        )
    });
    assert_matches(&request, &botocore::PUT_OBJECT_VIRTUAL_TOKEN);
}

#[test]
fn put_object_of_an_empty_body_without_content_type_path_style_with_session_token() {
    let config = config(Flavor::Path, true, false);
    let request = sign(&config, KEY_2, |r| {
        r.put_object(None, 0, &checksum::sha256(b""), time())
    });
    assert_matches(&request, &botocore::PUT_OBJECT_PATH_TOKEN_EMPTY);
}

#[test]
fn put_object_refusing_overwrite_signs_if_none_match_path_style() {
    let config = config(Flavor::Path, false, true);
    let body = b"hello world";
    let request = sign(&config, KEY_1, |r| {
        r.put_object(
            Some("image/jpeg"),
            body.len() as u64,
            &checksum::sha256(body),
            time(),
        )
    });
    assert_matches(&request, &botocore::PUT_OBJECT_PATH_REFUSE_OVERWRITE);
}

#[test]
fn put_object_refusing_overwrite_signs_if_none_match_virtual_style_with_session_token() {
    let config = config(Flavor::Virtual, true, true);
    let body = b"edgeplug\n";
    let request = sign(&config, KEY_1, |r| {
        r.put_object(None, body.len() as u64, &checksum::sha256(body), time())
    });
    assert_matches(
        &request,
        &botocore::PUT_OBJECT_VIRTUAL_TOKEN_REFUSE_OVERWRITE,
    );
}

#[test]
fn put_object_content_type_with_inner_spaces_signs_them_collapsed() {
    let config = config(Flavor::Path, false, false);
    let body = b"hello world";
    let request = sign(&config, KEY_2, |r| {
        r.put_object(
            Some("text/plain;   charset=utf-8"),
            body.len() as u64,
            &checksum::sha256(body),
            time(),
        )
    });
    assert_matches(&request, &botocore::PUT_OBJECT_PATH_SPACED_CONTENT_TYPE);
}

#[test]
fn create_multipart_path_style() {
    let config = config(Flavor::Path, false, false);
    let request = sign(&config, KEY_1, |r| {
        r.create_multipart(Some("video/mp4"), time())
    });
    assert_matches(&request, &botocore::CREATE_MULTIPART_PATH);
}

#[test]
fn create_multipart_virtual_style_with_session_token() {
    let config = config(Flavor::Virtual, true, false);
    let request = sign(&config, KEY_2, |r| r.create_multipart(None, time()));
    assert_matches(&request, &botocore::CREATE_MULTIPART_VIRTUAL_TOKEN);
}

#[test]
fn upload_part_path_style() {
    let config = config(Flavor::Path, false, false);
    let body = b"part one";
    let request = sign(&config, KEY_1, |r| {
        r.upload_part(
            UPLOAD_1,
            1,
            body.len() as u64,
            &checksum::sha256(body),
            time(),
        )
    });
    assert_matches(&request, &botocore::UPLOAD_PART_PATH);
}

#[test]
fn upload_part_virtual_style_with_session_token() {
    let config = config(Flavor::Virtual, true, false);
    let body = b"part ten 000\r\n";
    let request = sign(&config, KEY_2, |r| {
        r.upload_part(
            UPLOAD_2,
            10_000,
            body.len() as u64,
            &checksum::sha256(body),
            time(),
        )
    });
    assert_matches(&request, &botocore::UPLOAD_PART_VIRTUAL_TOKEN);
}

/// The part list production sends, as `multipart::complete_body` writes it.
fn complete_xml() -> String {
    multipart::complete_body(&[
        CompletedPart {
            number: 1,
            etag: "5d41402abc4b2a76b9719d911017c592".to_owned(),
            checksum_sha256: "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=".to_owned(),
        },
        CompletedPart {
            number: 2,
            etag: "7d793037a0760186574b0282f2f435e7".to_owned(),
            checksum_sha256: "SG6kYiTRu0+2gPNPfJrZao8k7Ii+c+qOWmxlJg6cuKc=".to_owned(),
        },
    ])
}

#[test]
fn complete_multipart_path_style_with_session_token() {
    let config = config(Flavor::Path, true, false);
    let xml = complete_xml();
    let request = sign(&config, KEY_1, |r| {
        r.complete_multipart(UPLOAD_2, xml.as_bytes(), time())
    });
    assert_matches(&request, &botocore::COMPLETE_MULTIPART_PATH_TOKEN);
}

#[test]
fn complete_multipart_refusing_overwrite_signs_if_none_match_virtual_style() {
    let config = config(Flavor::Virtual, false, true);
    let xml = complete_xml();
    let request = sign(&config, KEY_2, |r| {
        r.complete_multipart(UPLOAD_1, xml.as_bytes(), time())
    });
    assert_matches(
        &request,
        &botocore::COMPLETE_MULTIPART_VIRTUAL_REFUSE_OVERWRITE,
    );
}

#[test]
fn abort_multipart_path_style() {
    let config = config(Flavor::Path, false, false);
    let request = sign(&config, KEY_1, |r| r.abort_multipart(UPLOAD_1, time()));
    assert_matches(&request, &botocore::ABORT_MULTIPART_PATH);
}

#[test]
fn abort_multipart_virtual_style_with_session_token() {
    let config = config(Flavor::Virtual, true, false);
    let request = sign(&config, KEY_2, |r| r.abort_multipart(UPLOAD_2, time()));
    assert_matches(&request, &botocore::ABORT_MULTIPART_VIRTUAL_TOKEN);
}

#[test]
fn head_object_virtual_style_with_session_token() {
    let config = config(Flavor::Virtual, true, false);
    let request = sign(&config, KEY_1, |r| r.head_object(time()));
    assert_matches(&request, &botocore::HEAD_OBJECT_VIRTUAL_TOKEN);
}

// BEGIN GENERATED by tests/vectors/make_vectors.py (botocore 1.43.11)
/// What botocore signed for each vector (see this file's doc comment).
#[rustfmt::skip]
mod botocore {
    use super::{Expected, TOKEN};

    pub(super) const PUT_OBJECT_PATH: Expected = Expected {
        method: "PUT",
        url: "http://127.0.0.1:9000/edgeplug-vectors/photos/%C3%BC%20b%2Bc%25.jpg",
        headers: &[
            ("authorization", "AWS4-HMAC-SHA256 Credential=AKIDVECTORS0EXAMPLE/20260314/us-east-1/s3/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-checksum-sha256;x-amz-content-sha256;x-amz-date, Signature=45813e5f3f75dfea89560ffc03ee92a01471054e0c1ff196997acc5eba64aa6e"),
            ("content-length", "11"),
            ("content-type", "image/jpeg"),
            ("x-amz-checksum-sha256", "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="),
            ("x-amz-content-sha256", "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"),
            ("x-amz-date", "20260314T150926Z"),
        ],
    };

    pub(super) const PUT_OBJECT_VIRTUAL_TOKEN: Expected = Expected {
        method: "PUT",
        url: "https://edgeplug-vectors.s3.eu-west-1.amazonaws.com/tenants/a/a%20b/%E6%97%A5%E6%9C%AC%E8%AA%9E%2Bx~y%20%281%29.txt",
        headers: &[
            ("authorization", "AWS4-HMAC-SHA256 Credential=AKIDVECTORS0EXAMPLE/20260314/eu-west-1/s3/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-checksum-sha256;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=a0f100b859eb6188c7e5c43b93787ec28350c5eee7df2973576fbc859cc7c37e"),
            ("content-length", "9"),
            ("content-type", "text/plain; charset=utf-8"),
            ("x-amz-checksum-sha256", "38csoX9imcYjYxtn9AV0YZD7Oj7IJA8nZjpqr1qdCo8="),
            ("x-amz-content-sha256", "dfc72ca17f6299c623631b67f405746190fb3a3ec8240f27663a6aaf5a9d0a8f"),
            ("x-amz-date", "20260314T150926Z"),
            ("x-amz-security-token", TOKEN),
        ],
    };

    pub(super) const PUT_OBJECT_PATH_TOKEN_EMPTY: Expected = Expected {
        method: "PUT",
        url: "http://127.0.0.1:9000/edgeplug-vectors/a%20b/%E6%97%A5%E6%9C%AC%E8%AA%9E%2Bx~y%20%281%29.txt",
        headers: &[
            ("authorization", "AWS4-HMAC-SHA256 Credential=AKIDVECTORS0EXAMPLE/20260314/us-east-1/s3/aws4_request, SignedHeaders=content-length;host;x-amz-checksum-sha256;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=0e993b829830c53cd15dd31963712d1756ad46bea66a6567ddddca2ef340f351"),
            ("content-length", "0"),
            ("x-amz-checksum-sha256", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
            ("x-amz-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("x-amz-date", "20260314T150926Z"),
            ("x-amz-security-token", TOKEN),
        ],
    };

    pub(super) const PUT_OBJECT_PATH_REFUSE_OVERWRITE: Expected = Expected {
        method: "PUT",
        url: "http://127.0.0.1:9000/edgeplug-vectors/photos/%C3%BC%20b%2Bc%25.jpg",
        headers: &[
            ("authorization", "AWS4-HMAC-SHA256 Credential=AKIDVECTORS0EXAMPLE/20260314/us-east-1/s3/aws4_request, SignedHeaders=content-length;content-type;host;if-none-match;x-amz-checksum-sha256;x-amz-content-sha256;x-amz-date, Signature=51491f3cd21cd771af36b70509bb02432d943c30c11d354ed5412a954d2069db"),
            ("content-length", "11"),
            ("content-type", "image/jpeg"),
            ("if-none-match", "*"),
            ("x-amz-checksum-sha256", "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="),
            ("x-amz-content-sha256", "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"),
            ("x-amz-date", "20260314T150926Z"),
        ],
    };

    pub(super) const PUT_OBJECT_VIRTUAL_TOKEN_REFUSE_OVERWRITE: Expected = Expected {
        method: "PUT",
        url: "https://edgeplug-vectors.s3.eu-west-1.amazonaws.com/tenants/a/photos/%C3%BC%20b%2Bc%25.jpg",
        headers: &[
            ("authorization", "AWS4-HMAC-SHA256 Credential=AKIDVECTORS0EXAMPLE/20260314/eu-west-1/s3/aws4_request, SignedHeaders=content-length;host;if-none-match;x-amz-checksum-sha256;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=4a48587c7eb6a1c0430f3c8338539ad50265f41a0cb2788b576b5900239a7653"),
            ("content-length", "9"),
            ("if-none-match", "*"),
            ("x-amz-checksum-sha256", "38csoX9imcYjYxtn9AV0YZD7Oj7IJA8nZjpqr1qdCo8="),
            ("x-amz-content-sha256", "dfc72ca17f6299c623631b67f405746190fb3a3ec8240f27663a6aaf5a9d0a8f"),
            ("x-amz-date", "20260314T150926Z"),
            ("x-amz-security-token", TOKEN),
        ],
    };

    pub(super) const PUT_OBJECT_PATH_SPACED_CONTENT_TYPE: Expected = Expected {
        method: "PUT",
        url: "http://127.0.0.1:9000/edgeplug-vectors/a%20b/%E6%97%A5%E6%9C%AC%E8%AA%9E%2Bx~y%20%281%29.txt",
        headers: &[
            ("authorization", "AWS4-HMAC-SHA256 Credential=AKIDVECTORS0EXAMPLE/20260314/us-east-1/s3/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-checksum-sha256;x-amz-content-sha256;x-amz-date, Signature=3a5c22c293a4101ad55a4d91a7565a9771cf54c5e8b277a97ad8bf30c3e4817e"),
            ("content-length", "11"),
            ("content-type", "text/plain;   charset=utf-8"),
            ("x-amz-checksum-sha256", "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="),
            ("x-amz-content-sha256", "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"),
            ("x-amz-date", "20260314T150926Z"),
        ],
    };

    pub(super) const CREATE_MULTIPART_PATH: Expected = Expected {
        method: "POST",
        url: "http://127.0.0.1:9000/edgeplug-vectors/photos/%C3%BC%20b%2Bc%25.jpg?uploads",
        headers: &[
            ("authorization", "AWS4-HMAC-SHA256 Credential=AKIDVECTORS0EXAMPLE/20260314/us-east-1/s3/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-checksum-algorithm;x-amz-content-sha256;x-amz-date, Signature=bf20b1ceba32336eba5ce47139901b89077b5b9fb3684bc3a87da6a6e3688a28"),
            ("content-length", "0"),
            ("content-type", "video/mp4"),
            ("x-amz-checksum-algorithm", "SHA256"),
            ("x-amz-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("x-amz-date", "20260314T150926Z"),
        ],
    };

    pub(super) const CREATE_MULTIPART_VIRTUAL_TOKEN: Expected = Expected {
        method: "POST",
        url: "https://edgeplug-vectors.s3.eu-west-1.amazonaws.com/tenants/a/a%20b/%E6%97%A5%E6%9C%AC%E8%AA%9E%2Bx~y%20%281%29.txt?uploads",
        headers: &[
            ("authorization", "AWS4-HMAC-SHA256 Credential=AKIDVECTORS0EXAMPLE/20260314/eu-west-1/s3/aws4_request, SignedHeaders=content-length;host;x-amz-checksum-algorithm;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=013b7323a9e365a41b3aebe2b5635247d492f9140404b37197cf0fe555baf930"),
            ("content-length", "0"),
            ("x-amz-checksum-algorithm", "SHA256"),
            ("x-amz-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("x-amz-date", "20260314T150926Z"),
            ("x-amz-security-token", TOKEN),
        ],
    };

    pub(super) const UPLOAD_PART_PATH: Expected = Expected {
        method: "PUT",
        url: "http://127.0.0.1:9000/edgeplug-vectors/photos/%C3%BC%20b%2Bc%25.jpg?partNumber=1&uploadId=2~Vx.y_z-w",
        headers: &[
            ("authorization", "AWS4-HMAC-SHA256 Credential=AKIDVECTORS0EXAMPLE/20260314/us-east-1/s3/aws4_request, SignedHeaders=content-length;host;x-amz-checksum-sha256;x-amz-content-sha256;x-amz-date, Signature=c41fe6906d75efa8c5c16586018630a74bc2bf279e05d7083fc094f950958395"),
            ("content-length", "8"),
            ("x-amz-checksum-sha256", "/tfwXBC8ldWX5vgQMijEwQeYtfdyFfcYqFRTTaVj3J4="),
            ("x-amz-content-sha256", "fed7f05c10bc95d597e6f8103228c4c10798b5f77215f718a854534da563dc9e"),
            ("x-amz-date", "20260314T150926Z"),
        ],
    };

    pub(super) const UPLOAD_PART_VIRTUAL_TOKEN: Expected = Expected {
        method: "PUT",
        url: "https://edgeplug-vectors.s3.eu-west-1.amazonaws.com/tenants/a/a%20b/%E6%97%A5%E6%9C%AC%E8%AA%9E%2Bx~y%20%281%29.txt?partNumber=10000&uploadId=VXBsb2Fk%2BSUQ%2Fx%3D%3D",
        headers: &[
            ("authorization", "AWS4-HMAC-SHA256 Credential=AKIDVECTORS0EXAMPLE/20260314/eu-west-1/s3/aws4_request, SignedHeaders=content-length;host;x-amz-checksum-sha256;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=627b0a0f3fc9674a9230411e18433194390ae97c40da87ea119af437a1f689f1"),
            ("content-length", "14"),
            ("x-amz-checksum-sha256", "Bizyys54+TUbQEhGSXcCYYaQJ1vT7qtqJBvj+hXSI7U="),
            ("x-amz-content-sha256", "062cf2cace78f9351b404846497702618690275bd3eeab6a241be3fa15d223b5"),
            ("x-amz-date", "20260314T150926Z"),
            ("x-amz-security-token", TOKEN),
        ],
    };

    pub(super) const COMPLETE_MULTIPART_PATH_TOKEN: Expected = Expected {
        method: "POST",
        url: "http://127.0.0.1:9000/edgeplug-vectors/photos/%C3%BC%20b%2Bc%25.jpg?uploadId=VXBsb2Fk%2BSUQ%2Fx%3D%3D",
        headers: &[
            ("authorization", "AWS4-HMAC-SHA256 Credential=AKIDVECTORS0EXAMPLE/20260314/us-east-1/s3/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=1a462876ca853be49a645cd62b11d66f0a29b6ed926782895f9811f53e804b99"),
            ("content-length", "483"),
            ("content-type", "application/xml"),
            ("x-amz-content-sha256", "237bfeaa5cbfd063fa6d0c9f4ce415cf5182bd29204d5d85651dfe59f3c6cde6"),
            ("x-amz-date", "20260314T150926Z"),
            ("x-amz-security-token", TOKEN),
        ],
    };

    pub(super) const COMPLETE_MULTIPART_VIRTUAL_REFUSE_OVERWRITE: Expected = Expected {
        method: "POST",
        url: "https://edgeplug-vectors.s3.eu-west-1.amazonaws.com/tenants/a/a%20b/%E6%97%A5%E6%9C%AC%E8%AA%9E%2Bx~y%20%281%29.txt?uploadId=2~Vx.y_z-w",
        headers: &[
            ("authorization", "AWS4-HMAC-SHA256 Credential=AKIDVECTORS0EXAMPLE/20260314/eu-west-1/s3/aws4_request, SignedHeaders=content-length;content-type;host;if-none-match;x-amz-content-sha256;x-amz-date, Signature=4889dfd1f314c27362b75c73b6806921a6b9dd5f348450fb9f71e63da78d85b6"),
            ("content-length", "483"),
            ("content-type", "application/xml"),
            ("if-none-match", "*"),
            ("x-amz-content-sha256", "237bfeaa5cbfd063fa6d0c9f4ce415cf5182bd29204d5d85651dfe59f3c6cde6"),
            ("x-amz-date", "20260314T150926Z"),
        ],
    };

    pub(super) const ABORT_MULTIPART_PATH: Expected = Expected {
        method: "DELETE",
        url: "http://127.0.0.1:9000/edgeplug-vectors/photos/%C3%BC%20b%2Bc%25.jpg?uploadId=2~Vx.y_z-w",
        headers: &[
            ("authorization", "AWS4-HMAC-SHA256 Credential=AKIDVECTORS0EXAMPLE/20260314/us-east-1/s3/aws4_request, SignedHeaders=content-length;host;x-amz-content-sha256;x-amz-date, Signature=89b491813d2d208336ddd7ef041540b18f01aff570ceff695e0b5061a2df02ba"),
            ("content-length", "0"),
            ("x-amz-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("x-amz-date", "20260314T150926Z"),
        ],
    };

    pub(super) const ABORT_MULTIPART_VIRTUAL_TOKEN: Expected = Expected {
        method: "DELETE",
        url: "https://edgeplug-vectors.s3.eu-west-1.amazonaws.com/tenants/a/a%20b/%E6%97%A5%E6%9C%AC%E8%AA%9E%2Bx~y%20%281%29.txt?uploadId=VXBsb2Fk%2BSUQ%2Fx%3D%3D",
        headers: &[
            ("authorization", "AWS4-HMAC-SHA256 Credential=AKIDVECTORS0EXAMPLE/20260314/eu-west-1/s3/aws4_request, SignedHeaders=content-length;host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=b8d76121fe4de19fed6ed5f6b4040aed8d5e53f21b97d5b17646fd8af44c42cb"),
            ("content-length", "0"),
            ("x-amz-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("x-amz-date", "20260314T150926Z"),
            ("x-amz-security-token", TOKEN),
        ],
    };

    pub(super) const HEAD_OBJECT_VIRTUAL_TOKEN: Expected = Expected {
        method: "HEAD",
        url: "https://edgeplug-vectors.s3.eu-west-1.amazonaws.com/tenants/a/photos/%C3%BC%20b%2Bc%25.jpg",
        headers: &[
            ("authorization", "AWS4-HMAC-SHA256 Credential=AKIDVECTORS0EXAMPLE/20260314/eu-west-1/s3/aws4_request, SignedHeaders=content-length;host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=f5037cf069de2271a981b4ee6c806c97bcdcd632f7dcee94bbd6bef2eb723708"),
            ("content-length", "0"),
            ("x-amz-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("x-amz-date", "20260314T150926Z"),
            ("x-amz-security-token", TOKEN),
        ],
    };
}
// END GENERATED
