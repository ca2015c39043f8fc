//! `s3s-fs` with `ListMultipartUploads`, which it lacks: the local store
//! must list open uploads for `edgeplug-host s3 sweep` to be tested against
//! it as against a real bucket.
//!
//! Every other operation is `s3s-fs`'s own, delegated unchanged. The listing
//! reads what `s3s-fs` writes when an upload is created: a
//! `.upload-{id}.json` file per open upload (its modification time is when
//! the upload was initiated) and a
//! `.bucket-{b64 bucket}.object-{b64 key}.upload-{id}.metadata.json` file
//! naming its bucket and key.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::SystemTime;

use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};

/// `s3s_fs::FileSystem` plus `ListMultipartUploads`.
pub(crate) struct ListingFs {
    inner: s3s_fs::FileSystem,
    root: PathBuf,
}

impl ListingFs {
    /// Wraps `inner`, whose data folder is `root`.
    pub(crate) fn new(inner: s3s_fs::FileSystem, root: PathBuf) -> Self {
        Self { inner, root }
    }

    /// Every open upload of `bucket`: (key, upload id, initiated).
    fn open_uploads(&self, bucket: &str) -> std::io::Result<Vec<(String, String, SystemTime)>> {
        let mut initiated = HashMap::new();
        let mut keys = HashMap::new();
        for entry in std::fs::read_dir(&self.root)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if let Some(id) = name
                .strip_prefix(".upload-")
                .and_then(|rest| rest.strip_suffix(".json"))
            {
                initiated.insert(id.to_owned(), entry.metadata()?.modified()?);
            } else if let Some((object, id)) = name
                .strip_suffix(".metadata.json")
                .and_then(|rest| rest.split_once(".upload-"))
                && let Some((b64_bucket, b64_key)) = object
                    .strip_prefix(".bucket-")
                    .and_then(|rest| rest.split_once(".object-"))
                && decode(b64_bucket).as_deref() == Some(bucket)
                && let Some(key) = decode(b64_key)
            {
                keys.insert(id.to_owned(), key);
            }
        }
        let mut uploads: Vec<_> = keys
            .into_iter()
            .filter_map(|(id, key)| {
                let when = *initiated.get(&id)?;
                Some((key, id, when))
            })
            .collect();
        uploads.sort();
        Ok(uploads)
    }
}

fn decode(text: &str) -> Option<String> {
    let bytes = base64_simd::URL_SAFE_NO_PAD.decode_to_vec(text).ok()?;
    String::from_utf8(bytes).ok()
}

/// The `S3` impl: each listed operation delegated to `s3s-fs` unchanged,
/// and `ListMultipartUploads` answered here. (One macro makes the whole impl
/// so that `async_trait` sees the delegated methods already expanded.)
macro_rules! delegating_impl {
    ($($op:ident($input:ident) -> $output:ident;)*) => {
        #[async_trait::async_trait]
        impl S3 for ListingFs {
            $(
                async fn $op(&self, req: S3Request<$input>) -> S3Result<S3Response<$output>> {
                    self.inner.$op(req).await
                }
            )*

            async fn list_multipart_uploads(
                &self,
                req: S3Request<ListMultipartUploadsInput>,
            ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
                self.list_uploads(req.input).map(S3Response::new)
            }
        }
    };
}

delegating_impl! {
    abort_multipart_upload(AbortMultipartUploadInput) -> AbortMultipartUploadOutput;
    complete_multipart_upload(CompleteMultipartUploadInput) -> CompleteMultipartUploadOutput;
    copy_object(CopyObjectInput) -> CopyObjectOutput;
    create_bucket(CreateBucketInput) -> CreateBucketOutput;
    create_multipart_upload(CreateMultipartUploadInput) -> CreateMultipartUploadOutput;
    delete_bucket(DeleteBucketInput) -> DeleteBucketOutput;
    delete_object(DeleteObjectInput) -> DeleteObjectOutput;
    delete_objects(DeleteObjectsInput) -> DeleteObjectsOutput;
    get_bucket_location(GetBucketLocationInput) -> GetBucketLocationOutput;
    get_object(GetObjectInput) -> GetObjectOutput;
    head_bucket(HeadBucketInput) -> HeadBucketOutput;
    head_object(HeadObjectInput) -> HeadObjectOutput;
    list_buckets(ListBucketsInput) -> ListBucketsOutput;
    list_objects(ListObjectsInput) -> ListObjectsOutput;
    list_objects_v2(ListObjectsV2Input) -> ListObjectsV2Output;
    list_parts(ListPartsInput) -> ListPartsOutput;
    put_object(PutObjectInput) -> PutObjectOutput;
    upload_part(UploadPartInput) -> UploadPartOutput;
    upload_part_copy(UploadPartCopyInput) -> UploadPartCopyOutput;
}

impl ListingFs {
    /// All open uploads of the bucket whose key starts with `prefix`, in
    /// one page (a local store holds few): no delimiter, no markers.
    fn list_uploads(
        &self,
        input: ListMultipartUploadsInput,
    ) -> S3Result<ListMultipartUploadsOutput> {
        if !self.root.join(&input.bucket).is_dir() {
            return Err(s3_error!(NoSuchBucket));
        }
        let prefix = input.prefix.unwrap_or_default();
        let uploads = self
            .open_uploads(&input.bucket)
            .map_err(|e| s3_error!(InternalError, "listing uploads failed: {e}"))?
            .into_iter()
            .filter(|(key, _, _)| key.starts_with(&prefix))
            .map(|(key, id, initiated)| MultipartUpload {
                key: Some(key),
                upload_id: Some(id),
                initiated: Some(initiated.into()),
                ..Default::default()
            })
            .collect();
        Ok(ListMultipartUploadsOutput {
            bucket: Some(input.bucket),
            prefix: Some(prefix),
            is_truncated: Some(false),
            uploads: Some(uploads),
            ..Default::default()
        })
    }
}
