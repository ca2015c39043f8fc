//! A request body (`PutObject`, `UploadPart`) written to a temporary file,
//! hashed on the way and checked against the digests the client declared.

use futures::StreamExt as _;
use s3s::checksum::ChecksumHasher;
use s3s::crypto::{Checksum as _, Md5};
use s3s::dto::{ChecksumAlgorithm, StreamingBlob};
use s3s::{S3Result, TrailingHeaders, s3_error};
use tokio::io::AsyncWriteExt as _;

use super::FileStore;
use super::checksums::{Alg, Checksums};
use super::errors::internal;
use super::meta::Stamp;
use super::temp::Temp;

/// The most one `PutObject` or `UploadPart` may carry: 5 GiB.
const MAX_PUT_BYTES: u64 = 5 * 1024 * 1024 * 1024;
/// Bytes buffered before a write reaches the file.
const WRITE_BUFFER: usize = 1024 * 1024;

/// What a client declared of a body it sends, to check the body against.
pub(super) struct Declared<'a> {
    /// The checksums sent as headers.
    pub(super) checksums: Checksums,
    /// `x-amz-checksum-algorithm`.
    pub(super) algorithm: Option<&'a ChecksumAlgorithm>,
    /// `Content-MD5`.
    pub(super) content_md5: Option<&'a str>,
    /// The request's headers, which announce trailers.
    pub(super) headers: &'a http::HeaderMap,
    /// The checksums sent as trailers of an `aws-chunked` body.
    pub(super) trailers: Option<&'a TrailingHeaders>,
}

/// A request body written to a temporary file.
pub(super) struct Received {
    pub(super) temp: Temp,
    pub(super) size: u64,
    pub(super) md5: [u8; 16],
    pub(super) computed: Checksums,
    pub(super) modified: Stamp,
}

/// Refuses a body whose `Content-Length` is more than one request may
/// carry, before any of it is read.
pub(super) fn check_content_length(content_length: Option<i64>) -> S3Result<()> {
    if content_length.is_some_and(|length| u64::try_from(length).is_ok_and(|l| l > MAX_PUT_BYTES)) {
        return Err(too_large());
    }
    Ok(())
}

fn too_large() -> s3s::S3Error {
    s3_error!(
        EntityTooLarge,
        "Your proposed upload exceeds the maximum allowed size."
    )
}

/// Which checksums to compute for a body: those the client declared in
/// headers, announced as trailers (`x-amz-trailer`) or asked for
/// (`x-amz-checksum-algorithm`), and `also`.
fn hasher_for(
    declared: &Checksums,
    algorithm: Option<&ChecksumAlgorithm>,
    headers: &http::HeaderMap,
    also: Option<Alg>,
) -> S3Result<ChecksumHasher> {
    let mut hasher = ChecksumHasher::default();
    for alg in Alg::ALL {
        if declared.get(alg).is_some() {
            alg.enable(&mut hasher);
        }
    }
    if let Some(alg) = Alg::requested(algorithm)? {
        alg.enable(&mut hasher);
    }
    for value in headers.get_all("x-amz-trailer") {
        let names = value.to_str().unwrap_or_default();
        for name in names.split(',') {
            if let Some(alg) = Alg::ALL
                .into_iter()
                .find(|alg| alg.header().eq_ignore_ascii_case(name.trim()))
            {
                alg.enable(&mut hasher);
            }
        }
    }
    if let Some(alg) = also {
        alg.enable(&mut hasher);
    }
    Ok(hasher)
}

/// `declared` with the checksums sent as trailers of an `aws-chunked` body.
fn with_trailers(
    mut declared: Checksums,
    trailers: Option<&TrailingHeaders>,
) -> S3Result<Checksums> {
    if let Some(trailers) = trailers.and_then(TrailingHeaders::take) {
        for alg in Alg::ALL {
            if let Some(value) = trailers.get(alg.header()) {
                let value = value.to_str().map_err(|_| {
                    s3_error!(InvalidArgument, "The {} trailer is not text.", alg.header())
                })?;
                declared.set(alg, value.trim().to_owned());
            }
        }
    }
    Ok(declared)
}

/// Checks `Content-MD5` against the body's MD5.
fn verify_content_md5(content_md5: Option<&str>, md5: &[u8; 16]) -> S3Result<()> {
    let Some(text) = content_md5 else {
        return Ok(());
    };
    let declared = base64_simd::STANDARD
        .decode_to_vec(text.trim())
        .ok()
        .filter(|bytes| bytes.len() == 16)
        .ok_or_else(|| s3_error!(InvalidDigest, "The Content-MD5 you specified is not valid."))?;
    if declared == md5 {
        Ok(())
    } else {
        Err(s3_error!(
            BadDigest,
            "The Content-MD5 you specified did not match what we received."
        ))
    }
}

impl FileStore {
    /// Writes a request body to a temporary file and checks it against what
    /// the client `declared`; `also` is a checksum to compute besides.
    pub(super) async fn receive_checked(
        &self,
        body: Option<StreamingBlob>,
        declared: Declared<'_>,
        also: Option<Alg>,
    ) -> S3Result<Received> {
        let hasher = hasher_for(
            &declared.checksums,
            declared.algorithm,
            declared.headers,
            also,
        )?;
        let received = self.receive(body, hasher).await?;
        verify_content_md5(declared.content_md5, &received.md5)?;
        with_trailers(declared.checksums, declared.trailers)?.verify(&received.computed)?;
        Ok(received)
    }

    /// Writes a request body to a temporary file, hashing it on the way.
    async fn receive(
        &self,
        body: Option<StreamingBlob>,
        mut hasher: ChecksumHasher,
    ) -> S3Result<Received> {
        let temp = self.new_temp()?;
        let file = tokio::fs::File::create(&temp.path)
            .await
            .map_err(|e| internal("cannot create a temporary file", e))?;
        let mut writer = tokio::io::BufWriter::with_capacity(WRITE_BUFFER, file);
        let mut md5 = Md5::new();
        let mut size: u64 = 0;
        if let Some(mut body) = body {
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| {
                    s3_error!(InternalError, "The request body could not be read: {e}")
                })?;
                size = size.saturating_add(chunk.len() as u64);
                if size > MAX_PUT_BYTES {
                    return Err(too_large());
                }
                md5.update(&chunk);
                hasher.update(&chunk);
                writer
                    .write_all(&chunk)
                    .await
                    .map_err(|e| internal("cannot write a temporary file", e))?;
            }
        }
        writer
            .flush()
            .await
            .map_err(|e| internal("cannot write a temporary file", e))?;
        let file = writer.into_inner();
        let stat = file
            .metadata()
            .await
            .map_err(|e| internal("cannot read a temporary file", e))?;
        drop(file);
        Ok(Received {
            temp,
            size,
            md5: md5.finalize(),
            computed: Checksums::from_dto(hasher.finalize()),
            modified: Stamp::modified(&stat),
        })
    }
}

#[cfg(test)]
mod tests {
    use s3s::S3 as _;
    use s3s::crypto::{Checksum as _, Md5};

    use super::super::test_support::{BUCKET, code, names, put_input, request, sha256_b64, store};

    #[tokio::test]
    async fn a_body_that_does_not_match_its_digest_is_not_stored() {
        let (dir, store) = store();
        let mut input = put_input("md5.txt", b"body");
        input.content_md5 = Some(base64_simd::STANDARD.encode_to_string(Md5::checksum(b"other")));
        assert_eq!(code(store.put_object(request(input)).await), "BadDigest");
        let mut input = put_input("md5.txt", b"body");
        input.content_md5 = Some("not base64!".into());
        assert_eq!(
            code(store.put_object(request(input)).await),
            "InvalidDigest"
        );
        let mut input = put_input("sha.txt", b"body");
        input.checksum_sha256 = Some(sha256_b64(b"other"));
        assert_eq!(code(store.put_object(request(input)).await), "BadDigest");
        assert!(names(&dir.path().join(BUCKET)).is_empty());
        assert!(names(&store.tmp_dir()).is_empty());

        let mut input = put_input("md5.txt", b"body");
        input.content_md5 = Some(base64_simd::STANDARD.encode_to_string(Md5::checksum(b"body")));
        store
            .put_object(request(input))
            .await
            .expect("a matching MD5");
    }
}
