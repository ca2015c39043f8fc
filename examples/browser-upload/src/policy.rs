//! What a client may ask a policy for, and the object key it gets.
//!
//! The client names the file and its type; the app picks the key
//! (`uploads/{32 random hex digits}/{file name}`), so that nobody can
//! overwrite another's upload or guess where it went, and bounds the size
//! from its own setting, which the store enforces.

use serde::Deserialize;

use crate::errors::AppError;

/// Where uploads go in the bucket (under the uploader's key prefix).
pub const KEY_FOLDER: &str = "uploads";
/// How long a policy works: long enough to pick a file and send it.
pub const POLICY_EXPIRES_SECS: u32 = 600;
/// The most bytes of JSON a policy request may have.
pub const MAX_REQUEST_BYTES: usize = 4096;
/// The longest file name kept in a key, in bytes.
pub const MAX_FILE_NAME_BYTES: usize = 128;

/// Types a browser runs when it opens them: served back from a public
/// bucket on its origin they would be stored cross-site scripting, so the
/// app grants no policy for them.
pub const ACTIVE_CONTENT_TYPES: [&str; 6] = [
    "text/html",
    "application/xhtml+xml",
    "image/svg+xml",
    "text/javascript",
    "application/javascript",
    "text/xml",
];

/// The JSON body of `POST /uploads/policy`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PolicyAsk {
    /// The file's name, as the browser knows it.
    pub filename: String,
    /// The file's type; empty for `application/octet-stream`.
    #[serde(default)]
    pub content_type: String,
    /// The file's size, when the client states it: over the limit, the app
    /// refuses at once instead of letting the store refuse the upload.
    #[serde(default)]
    pub size: Option<u64>,
}

impl PolicyAsk {
    /// Parses and checks a request body.
    pub fn parse(body: &[u8]) -> Result<Self, AppError> {
        if body.len() > MAX_REQUEST_BYTES {
            return Err(AppError::BadRequest(format!(
                "the request body is over {MAX_REQUEST_BYTES} bytes"
            )));
        }
        serde_json::from_slice(body).map_err(|e| {
            AppError::BadRequest(format!(
                "expected JSON {{\"filename\": ..., \"content_type\": ..., \"size\": ...}}: {e}"
            ))
        })
    }
}

/// The content type a policy binds: the client's, checked, or
/// `application/octet-stream` when it sent none.
pub fn content_type(asked: &str) -> Result<String, AppError> {
    let asked = asked.trim();
    if asked.is_empty() {
        return Ok("application/octet-stream".to_owned());
    }
    let lower = asked.to_ascii_lowercase();
    let essence = lower.split(';').next().unwrap_or_default().trim();
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    let well_formed = asked.len() <= 255
        && asked.bytes().all(|b| (0x20..0x7f).contains(&b))
        && essence
            .split_once('/')
            .is_some_and(|(kind, sub)| token(kind) && token(sub));
    if !well_formed {
        return Err(AppError::BadRequest(format!(
            "`{}` is not a content type",
            asked.escape_default()
        )));
    }
    if ACTIVE_CONTENT_TYPES.contains(&essence) {
        return Err(AppError::ContentTypeNotAllowed(essence.to_owned()));
    }
    Ok(asked.to_owned())
}

/// The file name as a key segment: ASCII letters, digits, `.`, `-` and `_`
/// kept, anything else `_`, at most [`MAX_FILE_NAME_BYTES`], never a
/// leading dot (no `.` or `..` segment, no hidden file).
pub fn file_name_segment(filename: &str) -> String {
    // Browsers send a bare name; a path from an older one keeps its last part.
    let base = filename.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut segment: String = base
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '_' => c,
            _ => '_',
        })
        .collect();
    segment.truncate(MAX_FILE_NAME_BYTES);
    let segment = segment.trim_start_matches('.');
    if segment.is_empty() {
        "file".to_owned()
    } else {
        segment.to_owned()
    }
}

/// The key a policy binds: `uploads/{random}/{file name}`.
pub fn object_key(random: [u8; 16], filename: &str) -> String {
    let id: String = random.iter().map(|b| format!("{b:02x}")).collect();
    format!("{KEY_FOLDER}/{id}/{}", file_name_segment(filename))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_become_safe_key_segments() {
        assert_eq!(file_name_segment("report 2026.pdf"), "report_2026.pdf");
        assert_eq!(file_name_segment("C:\\fakepath\\cat.png"), "cat.png");
        assert_eq!(file_name_segment("../../etc/passwd"), "passwd");
        assert_eq!(file_name_segment(".."), "file");
        assert_eq!(file_name_segment(".hidden"), "hidden");
        assert_eq!(file_name_segment("\u{202e}gpj.exe"), "_gpj.exe");
        assert_eq!(
            file_name_segment(&"a".repeat(300)).len(),
            MAX_FILE_NAME_BYTES
        );
    }

    #[test]
    fn keys_are_random_folders_under_uploads() {
        let key = object_key([0xab; 16], "a b.txt");
        assert_eq!(key, format!("uploads/{}/a_b.txt", "ab".repeat(16)));
    }

    #[test]
    fn content_types_are_checked_and_active_ones_refused() {
        assert_eq!(content_type("").unwrap(), "application/octet-stream");
        assert_eq!(content_type("image/png").unwrap(), "image/png");
        assert_eq!(
            content_type("text/plain; charset=utf-8").unwrap(),
            "text/plain; charset=utf-8"
        );
        assert!(matches!(content_type("png"), Err(AppError::BadRequest(_))));
        assert!(matches!(
            content_type("a/b\r\nx: y"),
            Err(AppError::BadRequest(_))
        ));
        for active in ["text/html", "Image/SVG+xml", "text/html; charset=utf-8"] {
            assert!(
                matches!(
                    content_type(active),
                    Err(AppError::ContentTypeNotAllowed(_))
                ),
                "{active}"
            );
        }
    }

    #[test]
    fn asks_are_strict_json() {
        let ask = PolicyAsk::parse(br#"{"filename":"a.txt","content_type":"text/plain","size":3}"#)
            .unwrap();
        assert_eq!(ask.size, Some(3));
        assert!(PolicyAsk::parse(br#"{"filename":"a","key":"x"}"#).is_err());
        assert!(PolicyAsk::parse(b"filename=a").is_err());
        assert!(PolicyAsk::parse(&vec![b' '; MAX_REQUEST_BYTES + 1]).is_err());
    }
}
