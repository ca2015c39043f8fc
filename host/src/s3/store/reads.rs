//! Reading objects: `GetObject` (whole or a range) and `HeadObject`, under
//! their conditional headers.

use std::io;

use bytes::{Bytes, BytesMut};
use s3s::dto::{
    ChecksumMode, ETag, ETagCondition, GetObjectInput, GetObjectOutput, HeadObjectInput,
    HeadObjectOutput, StreamingBlob, Timestamp,
};
use s3s::{S3Request, S3Response, S3Result, s3_error};
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};

use super::checksums::set_checksums;
use super::errors::{internal, precondition_failed};
use super::meta::{Found, set_attributes};
use super::{FileStore, READ_CHUNK, blocking, size_i64};

/// What `GET` and `HEAD` alike ask of an object: which it is, the
/// conditions it must meet, and whether its checksums are wanted.
struct ReadRequest<'a> {
    bucket: &'a str,
    key: &'a str,
    if_match: Option<&'a ETagCondition>,
    if_none_match: Option<&'a ETagCondition>,
    if_modified_since: Option<&'a Timestamp>,
    if_unmodified_since: Option<&'a Timestamp>,
    checksum_mode: Option<&'a ChecksumMode>,
}

/// The [`ReadRequest`] of a `GetObjectInput` or a `HeadObjectInput`.
macro_rules! read_request_of {
    ($input:expr) => {
        ReadRequest {
            bucket: &$input.bucket,
            key: &$input.key,
            if_match: $input.if_match.as_ref(),
            if_none_match: $input.if_none_match.as_ref(),
            if_modified_since: $input.if_modified_since.as_ref(),
            if_unmodified_since: $input.if_unmodified_since.as_ref(),
            checksum_mode: $input.checksum_mode.as_ref(),
        }
    };
}

impl Found {
    /// `GET`'s and `HEAD`'s conditional headers, as S3 weighs them.
    fn check_conditions(&self, request: &ReadRequest<'_>) -> S3Result<()> {
        let matches = |condition: &ETagCondition| match condition.as_etag() {
            None => true,
            Some(etag) => etag.value() == self.etag,
        };
        let modified = self.modified.timestamp(true);
        if let Some(condition) = request.if_match {
            if !matches(condition) {
                return Err(precondition_failed());
            }
        } else if let Some(since) = request.if_unmodified_since
            && modified > *since
        {
            return Err(precondition_failed());
        }
        if let Some(condition) = request.if_none_match {
            if matches(condition) {
                return Err(s3_error!(NotModified));
            }
        } else if let Some(since) = request.if_modified_since
            && modified <= *since
        {
            return Err(s3_error!(NotModified));
        }
        Ok(())
    }
}

/// The object a `GET` or `HEAD` reads, once its conditions hold, and
/// whether its checksums were asked for (`x-amz-checksum-mode: ENABLED`).
async fn find_readable(store: &FileStore, request: ReadRequest<'_>) -> S3Result<(Found, bool)> {
    let paths = store.object_paths(request.bucket, request.key)?;
    let store = store.clone();
    let found = blocking(move || store.find(&paths)?.ok_or_else(|| paths.missing())).await?;
    found.check_conditions(&request)?;
    let checksum_mode = request
        .checksum_mode
        .is_some_and(|mode| mode.as_str().eq_ignore_ascii_case("ENABLED"));
    Ok((found, checksum_mode))
}

/// A file's bytes from where it stands, `len` of them, as a body.
fn file_body(file: tokio::fs::File, len: u64) -> StreamingBlob {
    let stream = futures::stream::try_unfold(file.take(len), |mut reader| async move {
        let mut buf = BytesMut::with_capacity(READ_CHUNK);
        let read = reader.read_buf(&mut buf).await?;
        if read == 0 {
            if reader.limit() > 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the object was shortened while it was read",
                ));
            }
            return Ok(None);
        }
        Ok(Some((Bytes::from(buf), reader)))
    });
    StreamingBlob::wrap(stream)
}

pub(super) async fn get_object(
    store: &FileStore,
    req: S3Request<GetObjectInput>,
) -> S3Result<S3Response<GetObjectOutput>> {
    let input = req.input;
    let (found, checksum_mode) = find_readable(store, read_request_of!(input)).await?;
    let (start, len, content_range) = match &input.range {
        None => (0, found.size, None),
        Some(range) => {
            let span = range.check(found.size)?;
            let len = span.end - span.start;
            let last = span.end.saturating_sub(1);
            (
                span.start,
                len,
                Some(format!("bytes {}-{last}/{}", span.start, found.size)),
            )
        }
    };
    let whole = content_range.is_none();
    let (attributes, checksums, parts_count) =
        (found.attributes(), found.checksums(), found.parts_count());
    let mut file = tokio::fs::File::from_std(found.file);
    if start > 0 {
        file.seek(io::SeekFrom::Start(start))
            .await
            .map_err(|e| internal("cannot read the object", e))?;
    }
    let mut output = GetObjectOutput {
        body: Some(file_body(file, len)),
        content_length: Some(size_i64(len)),
        content_range,
        accept_ranges: Some("bytes".to_owned()),
        e_tag: Some(ETag::Strong(found.etag)),
        last_modified: Some(found.modified.timestamp(false)),
        parts_count,
        ..Default::default()
    };
    set_attributes!(output, attributes);
    // S3 gives checksums when asked, and only for the whole object.
    if checksum_mode && whole {
        set_checksums!(output, checksums);
    }
    Ok(S3Response::new(output))
}

pub(super) async fn head_object(
    store: &FileStore,
    req: S3Request<HeadObjectInput>,
) -> S3Result<S3Response<HeadObjectOutput>> {
    let input = req.input;
    let (found, checksum_mode) = find_readable(store, read_request_of!(input)).await?;
    let mut output = HeadObjectOutput {
        content_length: Some(size_i64(found.size)),
        accept_ranges: Some("bytes".to_owned()),
        e_tag: Some(ETag::Strong(found.etag.clone())),
        last_modified: Some(found.modified.timestamp(false)),
        parts_count: found.parts_count(),
        ..Default::default()
    };
    set_attributes!(output, found.attributes());
    if checksum_mode {
        set_checksums!(output, found.checksums());
    }
    Ok(S3Response::new(output))
}

#[cfg(test)]
mod tests {
    use std::fs;

    use s3s::S3 as _;
    use s3s::dto::{ETag, HeadObjectInput, Range};

    use super::super::test_support::{
        BUCKET, code, get_input, md5_hex, put, read_body, request, store,
    };

    #[tokio::test]
    async fn a_range_reads_part_of_an_object() {
        let (_dir, store) = store();
        put(&store, "r.bin", b"0123456789").await.expect("stored");
        let mut input = get_input("r.bin");
        input.range = Some(Range::Int {
            first: 2,
            last: Some(5),
        });
        let output = store.get_object(request(input)).await.expect("read").output;
        assert_eq!(output.content_range.as_deref(), Some("bytes 2-5/10"));
        assert_eq!(output.content_length, Some(4));
        assert_eq!(read_body(output).await, b"2345");

        let mut input = get_input("r.bin");
        input.range = Some(Range::Int {
            first: 20,
            last: None,
        });
        assert_eq!(code(store.get_object(request(input)).await), "InvalidRange");
    }

    #[tokio::test]
    async fn a_file_changed_behind_the_stores_back_is_described_afresh() {
        let (dir, store) = store();
        put(&store, "k", b"old").await.expect("stored");
        fs::write(dir.path().join(BUCKET).join("k"), b"new, longer").expect("rewritten");
        let head = store
            .head_object(request(HeadObjectInput {
                bucket: BUCKET.into(),
                key: "k".into(),
                ..Default::default()
            }))
            .await
            .expect("head")
            .output;
        assert_eq!(head.e_tag, Some(ETag::Strong(md5_hex(b"new, longer"))));
    }
}
