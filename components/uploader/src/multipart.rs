//! The XML of S3's multipart calls: the part list sent to
//! `CompleteMultipartUpload`, and the answers of `CreateMultipartUpload`
//! and `CompleteMultipartUpload`.

use crate::transfer::etag;
use crate::xml;

/// One uploaded part, as `CompleteMultipartUpload` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedPart {
    /// 1 to 10,000.
    pub number: u32,
    /// The part's ETag, without quotes.
    pub etag: String,
    /// The part's SHA-256, base64.
    pub checksum_sha256: String,
}

/// The body of `CompleteMultipartUpload`.
pub fn complete_body(parts: &[CompletedPart]) -> String {
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">"#,
    );
    for part in parts {
        xml.push_str("<Part><PartNumber>");
        xml.push_str(&part.number.to_string());
        xml.push_str("</PartNumber><ETag>&quot;");
        xml.push_str(&escape(&part.etag));
        xml.push_str("&quot;</ETag><ChecksumSHA256>");
        xml.push_str(&escape(&part.checksum_sha256));
        xml.push_str("</ChecksumSHA256></Part>");
    }
    xml.push_str("</CompleteMultipartUpload>");
    xml
}

fn escape(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

/// Why an answer could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The answer is an S3 `<Error>` document (S3 may send one with a
    /// `200` to `CompleteMultipartUpload`).
    #[error("the store answered with an error document")]
    ErrorDocument,
    /// The answer is not the expected document.
    #[error("the store's answer to {0} could not be read")]
    Unreadable(&'static str),
}

/// The upload id in `<InitiateMultipartUploadResult>`.
pub fn parse_create(body: &[u8]) -> Result<String, ParseError> {
    const WHAT: &str = "CreateMultipartUpload";
    let document = parse(body, "InitiateMultipartUploadResult", &["UploadId"], WHAT)?;
    let id = document.child("UploadId").unwrap_or_default().trim();
    // It goes into a query string and a signature: refuse anything odd.
    if id.is_empty() || id.len() > 1024 || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ParseError::Unreadable(WHAT));
    }
    Ok(id.to_owned())
}

/// What `<CompleteMultipartUploadResult>` says about the new object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completed {
    /// The object's ETag, without quotes.
    pub etag: String,
    /// S3's checksum of the part checksums (`…-N`), when it reports one.
    pub checksum_sha256: Option<String>,
}

/// Reads `<CompleteMultipartUploadResult>`.
pub fn parse_complete(body: &[u8]) -> Result<Completed, ParseError> {
    let document = parse(
        body,
        "CompleteMultipartUploadResult",
        &["ETag", "ChecksumSHA256"],
        "CompleteMultipartUpload",
    )?;
    Ok(Completed {
        etag: etag(Some(document.child("ETag").unwrap_or_default().as_bytes())),
        checksum_sha256: document
            .child("ChecksumSHA256")
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty()),
    })
}

/// Reads `body` as a `root` document, keeping the `wanted` children; an
/// `<Error>` document is told apart, since S3 may send one with a 200.
fn parse(
    body: &[u8],
    root: &str,
    wanted: &[&'static str],
    what: &'static str,
) -> Result<xml::Document, ParseError> {
    let text = std::str::from_utf8(body).map_err(|_| ParseError::Unreadable(what))?;
    match xml::root_name(text).as_deref() {
        Some("Error") => Err(ParseError::ErrorDocument),
        Some(name) if name == root => xml::read(text, wanted).ok_or(ParseError::Unreadable(what)),
        _ => Err(ParseError::Unreadable(what)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_lists_every_part_in_order() {
        let xml = complete_body(&[
            CompletedPart {
                number: 1,
                etag: "a54357aff0632cce46d942af68356b38".into(),
                checksum_sha256: "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=".into(),
            },
            CompletedPart {
                number: 2,
                etag: "0c78aef83f66abc1fa1e8477f296d394".into(),
                checksum_sha256: "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=".into(),
            },
        ]);
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
             <CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
             <Part><PartNumber>1</PartNumber><ETag>&quot;a54357aff0632cce46d942af68356b38&quot;</ETag>\
             <ChecksumSHA256>47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=</ChecksumSHA256></Part>\
             <Part><PartNumber>2</PartNumber><ETag>&quot;0c78aef83f66abc1fa1e8477f296d394&quot;</ETag>\
             <ChecksumSHA256>LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=</ChecksumSHA256></Part>\
             </CompleteMultipartUpload>"
        );
    }

    #[test]
    fn complete_escapes_odd_etags() {
        let xml = complete_body(&[CompletedPart {
            number: 7,
            etag: "a<b>&c".into(),
            checksum_sha256: "x".into(),
        }]);
        assert!(
            xml.contains("<ETag>&quot;a&lt;b&gt;&amp;c&quot;</ETag>"),
            "{xml}"
        );
    }

    #[test]
    fn create_answer_gives_the_upload_id() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>uploads</Bucket><Key>a/b.bin</Key>
  <UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>
</InitiateMultipartUploadResult>"#;
        assert_eq!(
            parse_create(body).unwrap(),
            "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA"
        );
        // Some stores answer without a declaration or namespace.
        assert_eq!(
            parse_create(
                b"<InitiateMultipartUploadResult><UploadId>5b6c1d3e-0000-4000-8000-000000000000</UploadId></InitiateMultipartUploadResult>"
            )
            .unwrap(),
            "5b6c1d3e-0000-4000-8000-000000000000"
        );
    }

    #[test]
    fn create_answer_without_a_usable_id_is_refused() {
        for body in [
            &b""[..],
            b"<InitiateMultipartUploadResult></InitiateMultipartUploadResult>",
            b"<InitiateMultipartUploadResult><UploadId>a b</UploadId></InitiateMultipartUploadResult>",
            b"<Other><UploadId>x</UploadId></Other>",
            b"not xml",
        ] {
            assert_eq!(
                parse_create(body),
                Err(ParseError::Unreadable("CreateMultipartUpload")),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert_eq!(
            parse_create(b"<Error><Code>InternalError</Code></Error>"),
            Err(ParseError::ErrorDocument)
        );
    }

    #[test]
    fn complete_answer_gives_etag_and_checksum() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Location>https://b.s3.amazonaws.com/k</Location><Bucket>b</Bucket><Key>k</Key>
  <ETag>&quot;3858f62230ac3c915f300c664312c11f-9&quot;</ETag>
  <ChecksumSHA256>oEEOZ1K1YdHkrxmTDGaANGBjaTMPsxLI6ZSvM7ZGjVQ=-9</ChecksumSHA256>
</CompleteMultipartUploadResult>"#;
        assert_eq!(
            parse_complete(body).unwrap(),
            Completed {
                etag: "3858f62230ac3c915f300c664312c11f-9".into(),
                checksum_sha256: Some("oEEOZ1K1YdHkrxmTDGaANGBjaTMPsxLI6ZSvM7ZGjVQ=-9".into()),
            }
        );
        let body = b"<CompleteMultipartUploadResult><ETag>\"abc-2\"</ETag></CompleteMultipartUploadResult>";
        assert_eq!(
            parse_complete(body).unwrap(),
            Completed {
                etag: "abc-2".into(),
                checksum_sha256: None
            }
        );
    }

    #[test]
    fn an_error_inside_a_200_is_recognised() {
        let body = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\n<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>";
        assert_eq!(parse_complete(body), Err(ParseError::ErrorDocument));
    }
}
