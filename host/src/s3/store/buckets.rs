//! Buckets: the folders at the root of the store (never the hidden one).

use std::fs;
use std::io;

use s3s::dto::{
    Bucket, CreateBucketInput, CreateBucketOutput, DeleteBucketInput, DeleteBucketOutput,
    GetBucketLocationInput, GetBucketLocationOutput, HeadBucketInput, HeadBucketOutput,
    ListBucketsInput, ListBucketsOutput, Timestamp,
};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::errors::internal;
use super::listing::walk;
use super::{FileStore, blocking};

pub(super) async fn create_bucket(
    store: &FileStore,
    req: S3Request<CreateBucketInput>,
) -> S3Result<S3Response<CreateBucketOutput>> {
    let dir = store.bucket_dir(&req.input.bucket)?;
    match fs::create_dir(&dir) {
        Ok(()) => Ok(S3Response::new(CreateBucketOutput::default())),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(s3_error!(
            BucketAlreadyOwnedByYou,
            "Your previous request to create the named bucket succeeded and you already own it."
        )),
        Err(e) => Err(internal("cannot create the bucket", e)),
    }
}

pub(super) async fn delete_bucket(
    store: &FileStore,
    req: S3Request<DeleteBucketInput>,
) -> S3Result<S3Response<DeleteBucketOutput>> {
    let bucket = req.input.bucket;
    let dir = store.existing_bucket(&bucket)?;
    let store = store.clone();
    blocking(move || {
        let retired = {
            let _visible = store.lock();
            if !walk(&dir, "")?.is_empty() {
                return Err(s3_error!(
                    BucketNotEmpty,
                    "The bucket you tried to delete is not empty"
                ));
            }
            let retired = store.retire(&dir).map_err(|_| s3_error!(NoSuchBucket))?;
            let _ = fs::remove_dir_all(store.objects_dir().join(&bucket));
            retired
        };
        drop(retired);
        Ok(())
    })
    .await?;
    Ok(S3Response::new(DeleteBucketOutput::default()))
}

pub(super) async fn head_bucket(
    store: &FileStore,
    req: S3Request<HeadBucketInput>,
) -> S3Result<S3Response<HeadBucketOutput>> {
    store.existing_bucket(&req.input.bucket)?;
    Ok(S3Response::new(HeadBucketOutput::default()))
}

pub(super) async fn get_bucket_location(
    store: &FileStore,
    req: S3Request<GetBucketLocationInput>,
) -> S3Result<S3Response<GetBucketLocationOutput>> {
    store.existing_bucket(&req.input.bucket)?;
    Ok(S3Response::new(GetBucketLocationOutput::default()))
}

pub(super) async fn list_buckets(
    store: &FileStore,
    _req: S3Request<ListBucketsInput>,
) -> S3Result<S3Response<ListBucketsOutput>> {
    let root = store.root().to_path_buf();
    let buckets = blocking(move || {
        let entries = fs::read_dir(&root).map_err(|e| internal("cannot list buckets", e))?;
        let mut buckets: Vec<Bucket> = entries
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                if !entry.file_type().ok()?.is_dir() || !s3s::path::check_bucket_name(&name) {
                    return None;
                }
                let stat = entry.metadata().ok()?;
                let created = stat.created().or_else(|_| stat.modified()).ok()?;
                Some(Bucket {
                    name: Some(name),
                    creation_date: Some(Timestamp::from(created)),
                    bucket_region: None,
                })
            })
            .collect();
        buckets.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(buckets)
    })
    .await?;
    Ok(S3Response::new(ListBucketsOutput {
        buckets: Some(buckets),
        ..Default::default()
    }))
}

#[cfg(test)]
mod tests {
    use s3s::S3 as _;
    use s3s::dto::{CreateBucketInput, HeadBucketInput, ListBucketsInput};

    use super::super::FileStore;
    use super::super::test_support::{BUCKET, code, request, store};

    #[tokio::test]
    async fn buckets_are_the_root_folders_never_the_hidden_one() {
        let (dir, store) = store();
        let listed = |store: FileStore| async move {
            store
                .list_buckets(request(ListBucketsInput::default()))
                .await
                .expect("listed")
                .output
                .buckets
                .unwrap_or_default()
                .into_iter()
                .filter_map(|bucket| bucket.name)
                .collect::<Vec<_>>()
        };
        assert_eq!(listed(store.clone()).await, [BUCKET]);
        let create = |bucket: &str| {
            request(CreateBucketInput {
                bucket: bucket.into(),
                ..Default::default()
            })
        };
        store
            .create_bucket(create("second"))
            .await
            .expect("created");
        assert_eq!(
            code(store.create_bucket(create("second")).await),
            "BucketAlreadyOwnedByYou"
        );
        assert_eq!(listed(store.clone()).await, ["second", BUCKET]);
        assert!(dir.path().join("second").is_dir());
        store
            .head_bucket(request(HeadBucketInput {
                bucket: "second".into(),
                ..Default::default()
            }))
            .await
            .expect("it exists");
    }
}
