//! Which keys and bucket names can be stored as files, and where their
//! files go.

use std::path::PathBuf;

use s3s::{S3Error, S3Result, s3_error};
use sha2::{Digest as _, Sha256};

use super::FileStore;

/// S3's longest key, in bytes of UTF-8.
const MAX_KEY_BYTES: usize = 1024;
/// The longest file name most file systems keep: the longest segment of a
/// key between two `/`.
const MAX_SEGMENT_BYTES: usize = 255;

/// Checks that `key` can be stored as a file inside its bucket's folder:
/// 1 to 1,024 bytes, no empty, `.` or `..` segment (which would leave the
/// bucket, or make two keys one file), no NUL.
fn check_key(key: &str) -> S3Result<()> {
    if key.is_empty() {
        return Err(s3_error!(InvalidArgument, "The object key is empty."));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(s3_error!(KeyTooLongError, "Your key is too long."));
    }
    if key.contains('\0') {
        return Err(s3_error!(
            InvalidArgument,
            "Object keys may not contain a NUL character."
        ));
    }
    for segment in key.split('/') {
        match segment {
            "" => {
                return Err(s3_error!(
                    InvalidArgument,
                    "This store refuses keys with an empty segment (a leading, trailing or doubled `/`)."
                ));
            }
            "." | ".." => {
                return Err(s3_error!(
                    InvalidArgument,
                    "This store refuses keys with a `.` or `..` segment."
                ));
            }
            _ if segment.len() > MAX_SEGMENT_BYTES => {
                return Err(s3_error!(
                    KeyTooLongError,
                    "This store refuses keys with a segment (between two `/`) longer than 255 bytes."
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_bucket_name(bucket: &str) -> S3Result<()> {
    if s3s::path::check_bucket_name(bucket) {
        Ok(())
    } else {
        Err(s3_error!(
            InvalidBucketName,
            "The specified bucket is not valid."
        ))
    }
}

/// An object's file, metadata file and bucket folder.
#[derive(Debug, Clone)]
pub(super) struct ObjectPaths {
    pub(super) key: String,
    pub(super) bucket_dir: PathBuf,
    pub(super) data: PathBuf,
    pub(super) meta: PathBuf,
}

impl ObjectPaths {
    /// The error for an object that is not there.
    pub(super) fn missing(&self) -> S3Error {
        if self.bucket_dir.is_dir() {
            s3_error!(NoSuchKey, "The specified key does not exist.")
        } else {
            s3_error!(NoSuchBucket)
        }
    }
}

impl FileStore {
    pub(super) fn bucket_dir(&self, bucket: &str) -> S3Result<PathBuf> {
        check_bucket_name(bucket)?;
        Ok(self.root().join(bucket))
    }

    pub(super) fn existing_bucket(&self, bucket: &str) -> S3Result<PathBuf> {
        let dir = self.bucket_dir(bucket)?;
        if dir.is_dir() {
            Ok(dir)
        } else {
            Err(s3_error!(NoSuchBucket))
        }
    }

    pub(super) fn meta_path(&self, bucket: &str, key: &str) -> PathBuf {
        let name = hex::encode(Sha256::digest(key.as_bytes()));
        self.objects_dir().join(bucket).join(format!("{name}.json"))
    }

    pub(super) fn object_paths(&self, bucket: &str, key: &str) -> S3Result<ObjectPaths> {
        let bucket_dir = self.bucket_dir(bucket)?;
        check_key(key)?;
        Ok(ObjectPaths {
            key: key.to_owned(),
            data: bucket_dir.join(key),
            meta: self.meta_path(bucket, key),
            bucket_dir,
        })
    }
}

#[cfg(test)]
mod tests {
    use s3s::S3 as _;
    use s3s::dto::CreateMultipartUploadInput;

    use super::super::HIDDEN;
    use super::super::test_support::{
        BUCKET, code, get, get_input, names, put, put_input, request, store,
    };

    #[tokio::test]
    async fn keys_and_buckets_that_would_leave_the_bucket_are_refused() {
        let (dir, store) = store();
        let long_segment = "s".repeat(256);
        let long_key = "k/".repeat(600);
        for (key, expected) in [
            ("../escaped", "InvalidArgument"),
            ("a/../../escaped", "InvalidArgument"),
            ("/absolute", "InvalidArgument"),
            ("a//b", "InvalidArgument"),
            ("./a", "InvalidArgument"),
            ("folder/", "InvalidArgument"),
            ("", "InvalidArgument"),
            ("nul\0byte", "InvalidArgument"),
            (long_segment.as_str(), "KeyTooLongError"),
            (long_key.as_str(), "KeyTooLongError"),
        ] {
            assert_eq!(code(put(&store, key, b"x").await), expected, "{key:?}");
            assert_eq!(code(get(&store, key).await), expected, "{key:?}");
            let create = store
                .create_multipart_upload(request(CreateMultipartUploadInput {
                    bucket: BUCKET.into(),
                    key: key.into(),
                    ..Default::default()
                }))
                .await;
            assert_eq!(code(create), expected, "{key:?}");
        }
        let mut input = put_input("x", b"x");
        input.bucket = "../escaped".into();
        assert_eq!(
            code(store.put_object(request(input)).await),
            "InvalidBucketName"
        );
        let mut input = put_input("x", b"x");
        input.bucket = HIDDEN.into();
        assert_eq!(
            code(store.put_object(request(input)).await),
            "InvalidBucketName"
        );
        assert_eq!(names(dir.path()), [HIDDEN, BUCKET]);
        assert!(names(&dir.path().join(BUCKET)).is_empty());
        assert!(
            !dir.path()
                .parent()
                .expect("a parent")
                .join("escaped")
                .exists(),
            "nothing written outside the store"
        );
    }

    #[tokio::test]
    async fn missing_buckets_and_keys_are_told_apart() {
        let (_dir, store) = store();
        assert_eq!(code(get(&store, "nothing").await), "NoSuchKey");
        let mut input = get_input("nothing");
        input.bucket = "other-bucket".into();
        assert_eq!(code(store.get_object(request(input)).await), "NoSuchBucket");
        let mut input = put_input("x", b"x");
        input.bucket = "other-bucket".into();
        assert_eq!(code(store.put_object(request(input)).await), "NoSuchBucket");
    }
}
