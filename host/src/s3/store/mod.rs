//! The storage behind [`LocalS3`](super::LocalS3): `s3s::S3` over a folder.
//!
//! `s3s` routes each request, checks its signature (or verified POST
//! policy) and hands the operation here. The folder holds:
//!
//! - `{bucket}/`: a bucket, a folder whose name is a valid bucket name;
//! - `{bucket}/{key}`: an object's bytes as a plain file, the key's `/`
//!   making folders;
//! - `.edgeplug-s3/`: everything else, never taken for a bucket (no bucket
//!   name starts with a dot):
//!   - `tmp/`: files being written. Each is renamed into place once
//!     complete, so nothing half-written is ever seen at an object's path;
//!   - `objects/{bucket}/{SHA-256 of the key}.json`: an object's metadata
//!     (content type, ETag, checksums) with the size and modification time
//!     of the file it describes. A file changed behind the store's back is
//!     described afresh, its MD5 as its ETag;
//!   - `uploads/{id}/`: an open multipart upload: `upload.json`, and for
//!     each part `{n}.part` (its bytes) and `{n}.json`.
//!
//! One mutex orders every change of what is visible (renames into place,
//! deletions) and the reading of an object together with its metadata: a
//! conditional write (`If-None-Match: *`) decides and lands at once, and a
//! reader never pairs an object with another version's metadata.
//!
//! This file holds the store and hands each S3 operation to the file of its
//! idea: [`buckets`], [`writes`], [`reads`], [`listing`] and [`multipart`].
//! They share [`keys`] (which keys can be files, and where),
//! [`meta`] and [`checksums`] (what is kept beside an object), [`temp`]
//! (files being written) and [`receive`] (a request body, checked).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use s3s::dto::{
    AbortMultipartUploadInput, AbortMultipartUploadOutput, CompleteMultipartUploadInput,
    CompleteMultipartUploadOutput, CreateBucketInput, CreateBucketOutput,
    CreateMultipartUploadInput, CreateMultipartUploadOutput, DeleteBucketInput, DeleteBucketOutput,
    DeleteObjectInput, DeleteObjectOutput, GetBucketLocationInput, GetBucketLocationOutput,
    GetObjectInput, GetObjectOutput, HeadBucketInput, HeadBucketOutput, HeadObjectInput,
    HeadObjectOutput, ListBucketsInput, ListBucketsOutput, ListMultipartUploadsInput,
    ListMultipartUploadsOutput, ListObjectsInput, ListObjectsOutput, ListObjectsV2Input,
    ListObjectsV2Output, ListPartsInput, ListPartsOutput, PutObjectInput, PutObjectOutput,
    UploadPartInput, UploadPartOutput,
};
use s3s::{S3, S3Request, S3Response, S3Result};

use self::errors::internal;

mod buckets;
mod checksums;
mod errors;
mod keys;
mod listing;
mod meta;
mod multipart;
mod reads;
mod receive;
mod temp;
#[cfg(test)]
mod test_support;
mod writes;

/// The folder of everything that is not an object's bytes.
const HIDDEN: &str = ".edgeplug-s3";
/// Under [`HIDDEN`]: files being written.
const TMP: &str = "tmp";
/// Under [`HIDDEN`]: objects' metadata, by bucket.
const OBJECTS: &str = "objects";
/// Under [`HIDDEN`]: open multipart uploads, by id.
const UPLOADS: &str = "uploads";

/// Bytes read from a file per chunk of a `GetObject` body (and of an MD5
/// computed over a file).
const READ_CHUNK: usize = 64 * 1024;

/// An S3 store over a folder: see the [module](self) for its layout.
/// Cloning it is cheap; every clone is the same store.
#[derive(Clone)]
pub(crate) struct FileStore(Arc<Inner>);

struct Inner {
    root: PathBuf,
    hidden: PathBuf,
    /// Held while what is visible changes, and while an object is read
    /// with its metadata.
    visible: Mutex<()>,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore")
            .field("root", &self.0.root)
            .finish_non_exhaustive()
    }
}

impl FileStore {
    /// The store over `root`, an existing folder; makes its hidden folder.
    pub(crate) fn open(root: &Path) -> io::Result<Self> {
        let root = root.canonicalize()?;
        let hidden = root.join(HIDDEN);
        for sub in [TMP, OBJECTS, UPLOADS] {
            fs::create_dir_all(hidden.join(sub))?;
        }
        let store = Self(Arc::new(Inner {
            root,
            hidden,
            visible: Mutex::new(()),
        }));
        store.remove_stale_temps();
        Ok(store)
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        self.0
            .visible
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn root(&self) -> &Path {
        &self.0.root
    }

    fn tmp_dir(&self) -> PathBuf {
        self.0.hidden.join(TMP)
    }

    fn objects_dir(&self) -> PathBuf {
        self.0.hidden.join(OBJECTS)
    }

    fn uploads_dir(&self) -> PathBuf {
        self.0.hidden.join(UPLOADS)
    }
}

/// Runs `f` where blocking is allowed.
async fn blocking<T, F>(f: F) -> S3Result<T>
where
    F: FnOnce() -> S3Result<T> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| internal("a storage task failed", e))?
}

/// 16 random bytes as 32 lower-case hex digits: upload ids and temporary
/// file names.
fn random_id() -> S3Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| internal("no randomness", e))?;
    Ok(hex::encode(bytes))
}

fn size_i64(size: u64) -> i64 {
    i64::try_from(size).unwrap_or(i64::MAX)
}

/// Each operation is answered in the file of its idea.
#[async_trait::async_trait]
impl S3 for FileStore {
    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        buckets::create_bucket(self, req).await
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        buckets::delete_bucket(self, req).await
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        buckets::head_bucket(self, req).await
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        buckets::get_bucket_location(self, req).await
    }

    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        buckets::list_buckets(self, req).await
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        writes::put_object(self, req).await
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        reads::get_object(self, req).await
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        reads::head_object(self, req).await
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        writes::delete_object(self, req).await
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        listing::list_objects(self, req).await
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        listing::list_objects_v2(self, req).await
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        multipart::create_multipart_upload(self, req).await
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        multipart::upload_part(self, req).await
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        multipart::list_parts(self, req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        multipart::complete_multipart_upload(self, req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        multipart::abort_multipart_upload(self, req).await
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        multipart::list_multipart_uploads(self, req).await
    }
}
