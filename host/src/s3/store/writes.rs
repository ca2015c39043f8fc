//! Writing objects: `PutObject` and `DeleteObject`, and putting a whole
//! object in place (a `PutObject`'s body or a completed multipart upload)
//! under the write's condition (`If-None-Match: *`, `If-Match`).

use std::fs;
use std::path::Path;

use s3s::dto::{
    DeleteObjectInput, DeleteObjectOutput, ETag, ETagCondition, PutObjectInput, PutObjectOutput,
};
use s3s::{S3Error, S3Request, S3Response, S3Result, s3_error};

use super::checksums::{checksums_of, set_checksums};
use super::errors::{internal, precondition_failed};
use super::keys::ObjectPaths;
use super::meta::{ObjectMeta, attributes_of};
use super::multipart::check_upload_open;
use super::receive::{Declared, check_content_length};
use super::temp::Temp;
use super::{FileStore, blocking};

/// What a write requires of the object it replaces.
#[derive(Debug, Clone)]
pub(super) enum WriteCondition {
    Always,
    /// `If-None-Match: *`.
    Absent,
    /// `If-Match`.
    Matching(ETagCondition),
}

impl WriteCondition {
    pub(super) fn of(
        if_match: Option<&ETagCondition>,
        if_none_match: Option<&ETagCondition>,
    ) -> S3Result<Self> {
        match (if_match, if_none_match) {
            (None, None) => Ok(Self::Always),
            (None, Some(condition)) if condition.is_any() => Ok(Self::Absent),
            (None, Some(_)) => Err(s3_error!(
                NotImplemented,
                "A write's If-None-Match supports only `*`."
            )),
            (Some(condition), None) => Ok(Self::Matching(condition.clone())),
            (Some(_), Some(_)) => Err(s3_error!(
                InvalidArgument,
                "If-Match and If-None-Match cannot be used together."
            )),
        }
    }
}

/// A key that names a folder of other keys, or runs through an object.
fn key_conflict() -> S3Error {
    s3_error!(
        InvalidArgument,
        "This store keeps objects as files: a key cannot name an object and also be a folder (a prefix ending in `/`) of other keys."
    )
}

/// Removes the empty folders from `dir` up to, not including, `stop`.
fn prune_empty_folders(dir: &Path, stop: &Path) {
    let mut dir = dir;
    while dir != stop && dir.starts_with(stop) {
        if fs::remove_dir(dir).is_err() {
            break;
        }
        match dir.parent() {
            Some(parent) => dir = parent,
            None => break,
        }
    }
}

impl FileStore {
    /// Checks a write's condition against the object in place; the caller
    /// holds the lock.
    pub(super) fn check_write_locked(
        &self,
        condition: &WriteCondition,
        paths: &ObjectPaths,
    ) -> S3Result<()> {
        match condition {
            WriteCondition::Always => Ok(()),
            WriteCondition::Absent => {
                if paths.data.is_file() {
                    Err(precondition_failed())
                } else {
                    Ok(())
                }
            }
            WriteCondition::Matching(condition) => {
                let Some((file, stat, meta)) = self.open_locked(paths)? else {
                    return Err(s3_error!(NoSuchKey, "The specified key does not exist."));
                };
                let found = Self::describe(&paths.key, file, &stat, meta)?;
                match condition.as_etag() {
                    Some(etag) if etag.value() != found.etag => Err(precondition_failed()),
                    _ => Ok(()),
                }
            }
        }
    }

    /// Makes the folders an object's file goes in; refuses a key that runs
    /// through an object or names a folder. The caller holds the lock.
    fn make_room_locked(paths: &ObjectPaths) -> S3Result<()> {
        if paths.data.is_dir() {
            return Err(key_conflict());
        }
        let mut ancestor = paths.data.parent();
        while let Some(dir) = ancestor
            && dir != paths.bucket_dir
        {
            if dir.is_file() {
                return Err(key_conflict());
            }
            ancestor = dir.parent();
        }
        if let Some(parent) = paths.data.parent() {
            fs::create_dir_all(parent).map_err(|e| internal("cannot make the key's folders", e))?;
        }
        if let Some(parent) = paths.meta.parent() {
            fs::create_dir_all(parent).map_err(|e| internal("cannot make a metadata folder", e))?;
        }
        Ok(())
    }

    /// Puts `data` in place as the object, with `meta`, if `condition`
    /// holds. `retire` is an upload folder to remove at the same moment.
    /// Blocks.
    pub(super) fn commit_object(
        &self,
        paths: &ObjectPaths,
        data: Temp,
        meta: &ObjectMeta,
        condition: &WriteCondition,
        retire: Option<&Path>,
    ) -> S3Result<()> {
        let meta_temp = self.temp_json(meta)?;
        let retired = {
            let _visible = self.lock();
            if let Some(upload) = retire {
                check_upload_open(upload)?;
            }
            if !paths.bucket_dir.is_dir() {
                return Err(s3_error!(NoSuchBucket));
            }
            self.check_write_locked(condition, paths)?;
            Self::make_room_locked(paths)?;
            meta_temp
                .persist(&paths.meta)
                .map_err(|e| internal("cannot store metadata", e))?;
            if let Err(e) = data.persist(&paths.data) {
                let _ = fs::remove_file(&paths.meta);
                return Err(internal("cannot store the object", e));
            }
            // The object is in place: an upload folder that will not move
            // stays listed, which is all that failing costs.
            retire.and_then(|upload| {
                self.retire(upload)
                    .inspect_err(|error| {
                        tracing::warn!(%error, "a completed upload could not be removed");
                    })
                    .ok()
            })
        };
        // The retired upload's parts are deleted here, out of the lock.
        drop(retired);
        Ok(())
    }
}

pub(super) async fn put_object(
    store: &FileStore,
    req: S3Request<PutObjectInput>,
) -> S3Result<S3Response<PutObjectOutput>> {
    let S3Request {
        input,
        headers,
        trailing_headers,
        ..
    } = req;
    let paths = store.object_paths(&input.bucket, &input.key)?;
    store.existing_bucket(&input.bucket)?;
    let condition = WriteCondition::of(input.if_match.as_ref(), input.if_none_match.as_ref())?;
    check_content_length(input.content_length)?;
    let attributes = attributes_of!(input);
    let declared = Declared {
        checksums: checksums_of!(input),
        algorithm: input.checksum_algorithm.as_ref(),
        content_md5: input.content_md5.as_deref(),
        headers: &headers,
        trailers: trailing_headers.as_ref(),
    };
    let received = store.receive_checked(input.body, declared, None).await?;
    let etag = hex::encode(received.md5);
    let meta = ObjectMeta {
        key: input.key,
        size: received.size,
        modified: received.modified,
        etag: etag.clone(),
        attributes,
        checksums: received.computed.clone(),
        parts: None,
    };
    let store = store.clone();
    let temp = received.temp;
    blocking(move || store.commit_object(&paths, temp, &meta, &condition, None)).await?;
    let mut output = PutObjectOutput {
        e_tag: Some(ETag::Strong(etag)),
        ..Default::default()
    };
    set_checksums!(output, received.computed);
    Ok(S3Response::new(output))
}

pub(super) async fn delete_object(
    store: &FileStore,
    req: S3Request<DeleteObjectInput>,
) -> S3Result<S3Response<DeleteObjectOutput>> {
    let input = req.input;
    let paths = store.object_paths(&input.bucket, &input.key)?;
    let condition = match input.if_match {
        Some(condition) => WriteCondition::Matching(condition),
        None => WriteCondition::Always,
    };
    let store = store.clone();
    blocking(move || {
        let _visible = store.lock();
        if !paths.bucket_dir.is_dir() {
            return Err(s3_error!(NoSuchBucket));
        }
        store.check_write_locked(&condition, &paths)?;
        if fs::symlink_metadata(&paths.data).is_ok_and(|stat| stat.is_file()) {
            fs::remove_file(&paths.data).map_err(|e| internal("cannot delete the object", e))?;
            let _ = fs::remove_file(&paths.meta);
            if let Some(parent) = paths.data.parent() {
                prune_empty_folders(parent, &paths.bucket_dir);
            }
        }
        Ok(())
    })
    .await?;
    Ok(S3Response::new(DeleteObjectOutput::default()))
}

#[cfg(test)]
mod tests {
    use std::fs;

    use s3s::S3 as _;
    use s3s::dto::{DeleteObjectInput, ETag, ETagCondition, HeadObjectInput};

    use super::super::size_i64;
    use super::super::test_support::{
        BUCKET, code, get, md5_hex, names, put, put_input, request, sha256_b64, store,
    };

    #[tokio::test]
    async fn an_object_put_is_a_plain_file_and_reads_back() {
        let (dir, store) = store();
        let body = b"hello, store";
        let mut input = put_input("dir/a.txt", body);
        input.content_type = Some("text/plain".into());
        input.checksum_sha256 = Some(sha256_b64(body));
        let output = store
            .put_object(request(input))
            .await
            .expect("stored")
            .output;
        assert_eq!(output.e_tag, Some(ETag::Strong(md5_hex(body))));
        assert_eq!(output.checksum_sha256, Some(sha256_b64(body)));
        assert_eq!(
            fs::read(dir.path().join(BUCKET).join("dir/a.txt")).expect("the file"),
            body
        );
        assert_eq!(names(&dir.path().join(BUCKET)), ["dir"]);
        assert!(names(&store.tmp_dir()).is_empty(), "no temporary file left");

        assert_eq!(get(&store, "dir/a.txt").await.expect("read"), body);
        let head = store
            .head_object(request(HeadObjectInput {
                bucket: BUCKET.into(),
                key: "dir/a.txt".into(),
                checksum_mode: Some(s3s::dto::ChecksumMode::from_static("ENABLED")),
                ..Default::default()
            }))
            .await
            .expect("head")
            .output;
        assert_eq!(head.content_length, Some(size_i64(body.len() as u64)));
        assert_eq!(head.content_type.as_deref(), Some("text/plain"));
        assert_eq!(head.e_tag, Some(ETag::Strong(md5_hex(body))));
        assert_eq!(head.checksum_sha256, Some(sha256_b64(body)));

        // Overwritten without a condition.
        put(&store, "dir/a.txt", b"second").await.expect("replaced");
        assert_eq!(get(&store, "dir/a.txt").await.expect("read"), b"second");
    }

    #[tokio::test]
    async fn if_none_match_star_refuses_a_taken_key() {
        let (_dir, store) = store();
        let mut input = put_input("once.txt", b"first");
        input.if_none_match = Some(ETagCondition::Any);
        store.put_object(request(input)).await.expect("a new key");
        let mut input = put_input("once.txt", b"second");
        input.if_none_match = Some(ETagCondition::Any);
        assert_eq!(
            code(store.put_object(request(input)).await),
            "PreconditionFailed"
        );
        assert_eq!(get(&store, "once.txt").await.expect("read"), b"first");
        assert!(
            names(&store.tmp_dir()).is_empty(),
            "the refused body is gone"
        );
    }

    #[tokio::test]
    async fn a_key_cannot_be_both_an_object_and_a_folder() {
        let (_dir, store) = store();
        put(&store, "a", b"file").await.expect("stored");
        assert_eq!(code(put(&store, "a/b", b"x").await), "InvalidArgument");
        put(&store, "c/d", b"x").await.expect("stored");
        assert_eq!(code(put(&store, "c", b"x").await), "InvalidArgument");
        assert_eq!(code(get(&store, "c").await), "NoSuchKey");
    }

    #[tokio::test]
    async fn deleting_an_object_removes_its_file_and_empty_folders() {
        let (dir, store) = store();
        put(&store, "a/b/c.txt", b"x").await.expect("stored");
        let delete = |key: &str| {
            request(DeleteObjectInput {
                bucket: BUCKET.into(),
                key: key.into(),
                ..Default::default()
            })
        };
        store
            .delete_object(delete("a/b/c.txt"))
            .await
            .expect("deleted");
        assert!(names(&dir.path().join(BUCKET)).is_empty());
        assert_eq!(code(get(&store, "a/b/c.txt").await), "NoSuchKey");
        // Deleting what is not there is no error, as in S3.
        store
            .delete_object(delete("a/b/c.txt"))
            .await
            .expect("idempotent");
    }
}
