//! What the store's unit tests share: a store in a temporary folder, and
//! short ways to call it.

use std::fs;
use std::path::Path;

use bytes::Bytes;
use futures::StreamExt as _;
use s3s::crypto::{Checksum as _, Md5};
use s3s::dto::{GetObjectInput, GetObjectOutput, PutObjectInput, PutObjectOutput, StreamingBlob};
use s3s::{S3 as _, S3Request, S3Result};
use sha2::{Digest as _, Sha256};

use super::{FileStore, size_i64};

pub(super) const BUCKET: &str = "uploads";

/// A store in a temporary folder with the bucket [`BUCKET`].
pub(super) fn store() -> (tempfile::TempDir, FileStore) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    fs::create_dir(dir.path().join(BUCKET)).expect("a bucket");
    let store = FileStore::open(dir.path()).expect("a store");
    (dir, store)
}

pub(super) fn request<T>(input: T) -> S3Request<T> {
    S3Request {
        input,
        method: http::Method::GET,
        uri: http::Uri::from_static("/"),
        headers: http::HeaderMap::new(),
        extensions: http::Extensions::new(),
        credentials: None,
        region: None,
        service: None,
        trailing_headers: None,
    }
}

pub(super) fn blob(bytes: &[u8]) -> Option<StreamingBlob> {
    Some(StreamingBlob::from(s3s::Body::from(
        Bytes::copy_from_slice(bytes),
    )))
}

pub(super) fn put_input(key: &str, body: &[u8]) -> PutObjectInput {
    PutObjectInput {
        bucket: BUCKET.into(),
        key: key.into(),
        body: blob(body),
        content_length: Some(size_i64(body.len() as u64)),
        ..Default::default()
    }
}

pub(super) async fn put(store: &FileStore, key: &str, body: &[u8]) -> S3Result<PutObjectOutput> {
    Ok(store
        .put_object(request(put_input(key, body)))
        .await?
        .output)
}

pub(super) fn get_input(key: &str) -> GetObjectInput {
    GetObjectInput {
        bucket: BUCKET.into(),
        key: key.into(),
        ..Default::default()
    }
}

pub(super) async fn read_body(output: GetObjectOutput) -> Vec<u8> {
    let mut body = output.body.expect("a body");
    let mut bytes = Vec::new();
    while let Some(chunk) = body.next().await {
        bytes.extend_from_slice(&chunk.expect("a chunk"));
    }
    bytes
}

pub(super) async fn get(store: &FileStore, key: &str) -> S3Result<Vec<u8>> {
    let output = store.get_object(request(get_input(key))).await?.output;
    Ok(read_body(output).await)
}

pub(super) fn code(result: S3Result<impl Sized>) -> String {
    match result {
        Ok(_) => "no error".to_owned(),
        Err(error) => error.code().as_str().to_owned(),
    }
}

pub(super) fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::checksum(bytes))
}

pub(super) fn sha256_b64(bytes: &[u8]) -> String {
    base64_simd::STANDARD.encode_to_string(Sha256::digest(bytes))
}

/// What is in `dir`, by name, sorted.
pub(super) fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|entry| entry.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
