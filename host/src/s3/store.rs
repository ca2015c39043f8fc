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

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read as _, Seek as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use futures::StreamExt as _;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use s3s::checksum::ChecksumHasher;
use s3s::crypto::{Checksum as _, Md5};
use s3s::dto::{
    AbortMultipartUploadInput, AbortMultipartUploadOutput, Bucket, Checksum, ChecksumAlgorithm,
    CommonPrefix, CompleteMultipartUploadInput, CompleteMultipartUploadOutput, CreateBucketInput,
    CreateBucketOutput, CreateMultipartUploadInput, CreateMultipartUploadOutput, DeleteBucketInput,
    DeleteBucketOutput, DeleteObjectInput, DeleteObjectOutput, ETag, ETagCondition, EncodingType,
    GetBucketLocationInput, GetBucketLocationOutput, GetObjectInput, GetObjectOutput,
    HeadBucketInput, HeadBucketOutput, HeadObjectInput, HeadObjectOutput, ListBucketsInput,
    ListBucketsOutput, ListMultipartUploadsInput, ListMultipartUploadsOutput, ListObjectsInput,
    ListObjectsOutput, ListObjectsV2Input, ListObjectsV2Output, ListPartsInput, ListPartsOutput,
    MultipartUpload, Object, ObjectStorageClass, Part, PutObjectInput, PutObjectOutput,
    StorageClass, StreamingBlob, Timestamp, UploadPartInput, UploadPartOutput,
};
use s3s::{S3, S3Error, S3Request, S3Response, S3Result, TrailingHeaders, s3_error};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _, AsyncWriteExt as _};

/// The folder of everything that is not an object's bytes.
const HIDDEN: &str = ".edgeplug-s3";
/// Under [`HIDDEN`]: files being written.
const TMP: &str = "tmp";
/// Under [`HIDDEN`]: objects' metadata, by bucket.
const OBJECTS: &str = "objects";
/// Under [`HIDDEN`]: open multipart uploads, by id.
const UPLOADS: &str = "uploads";
/// In an upload's folder: what the upload is for.
const UPLOAD_JSON: &str = "upload.json";

/// S3's longest key, in bytes of UTF-8.
const MAX_KEY_BYTES: usize = 1024;
/// The longest file name most file systems keep: the longest segment of a
/// key between two `/`.
const MAX_SEGMENT_BYTES: usize = 255;
/// The most one `PutObject` or `UploadPart` may carry: 5 GiB.
const MAX_PUT_BYTES: u64 = 5 * 1024 * 1024 * 1024;
/// The least every part but the last must hold: 5 MiB.
const MIN_PART_BYTES: u64 = 5 * 1024 * 1024;
/// Part numbers run from 1 to this.
const MAX_PART_NUMBER: i32 = 10_000;
/// The most entries one listing page holds, and its default.
const MAX_PAGE: i32 = 1000;
/// Temporary files untouched for this long are a crashed write's: removed
/// when a store opens the folder.
const STALE_TEMP: Duration = Duration::from_secs(24 * 60 * 60);
/// Bytes buffered before a write reaches the file.
const WRITE_BUFFER: usize = 1024 * 1024;
/// Bytes read from a file per chunk of a `GetObject` body.
const READ_CHUNK: usize = 64 * 1024;

/// Characters left as they are in a key of a listing asked for with
/// `encoding-type=url`: the unreserved set and `/`.
const URL_KEY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

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

// ---------------------------------------------------------------------------
// What is kept beside the objects.
// ---------------------------------------------------------------------------

/// A modification or creation time, as kept in JSON.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    secs: u64,
    nanos: u32,
}

impl Stamp {
    fn of(time: SystemTime) -> Self {
        let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
        Self {
            secs: since.as_secs(),
            nanos: since.subsec_nanos(),
        }
    }

    fn now() -> Self {
        Self::of(SystemTime::now())
    }

    /// When a file was last written.
    fn modified(meta: &fs::Metadata) -> Self {
        Self::of(meta.modified().unwrap_or(UNIX_EPOCH))
    }

    fn time(self) -> SystemTime {
        UNIX_EPOCH
            .checked_add(Duration::new(self.secs, self.nanos))
            .unwrap_or(UNIX_EPOCH)
    }

    /// As S3 reports it; whole seconds when `truncate`, as HTTP dates carry
    /// it.
    fn timestamp(self, truncate: bool) -> Timestamp {
        let stamp = if truncate {
            Self {
                secs: self.secs,
                nanos: 0,
            }
        } else {
            self
        };
        Timestamp::from(stamp.time())
    }
}

/// The checksums of an object or a part, base64 as S3 carries them.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
struct Checksums {
    #[serde(skip_serializing_if = "Option::is_none")]
    crc32: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    crc32c: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    crc64nvme: Option<String>,
}

/// The `checksum_*` fields of an S3 input or output as [`Checksums`].
macro_rules! checksums_of {
    ($dto:expr) => {
        Checksums {
            crc32: $dto.checksum_crc32.clone(),
            crc32c: $dto.checksum_crc32c.clone(),
            sha1: $dto.checksum_sha1.clone(),
            sha256: $dto.checksum_sha256.clone(),
            crc64nvme: $dto.checksum_crc64nvme.clone(),
        }
    };
}

/// Sets the `checksum_*` fields of an S3 output from [`Checksums`].
macro_rules! set_checksums {
    ($dto:expr, $checksums:expr) => {{
        let checksums: Checksums = $checksums;
        $dto.checksum_crc32 = checksums.crc32;
        $dto.checksum_crc32c = checksums.crc32c;
        $dto.checksum_sha1 = checksums.sha1;
        $dto.checksum_sha256 = checksums.sha256;
        $dto.checksum_crc64nvme = checksums.crc64nvme;
    }};
}

impl Checksums {
    fn from_dto(checksum: Checksum) -> Self {
        checksums_of!(checksum)
    }

    fn get(&self, alg: Alg) -> Option<&str> {
        match alg {
            Alg::Crc32 => self.crc32.as_deref(),
            Alg::Crc32c => self.crc32c.as_deref(),
            Alg::Sha1 => self.sha1.as_deref(),
            Alg::Sha256 => self.sha256.as_deref(),
            Alg::Crc64Nvme => self.crc64nvme.as_deref(),
        }
    }

    fn set(&mut self, alg: Alg, value: String) {
        let slot = match alg {
            Alg::Crc32 => &mut self.crc32,
            Alg::Crc32c => &mut self.crc32c,
            Alg::Sha1 => &mut self.sha1,
            Alg::Sha256 => &mut self.sha256,
            Alg::Crc64Nvme => &mut self.crc64nvme,
        };
        *slot = Some(value);
    }

    /// Refuses with `BadDigest` unless every checksum in `self` (what the
    /// client declared) is the one `computed` has.
    fn verify(&self, computed: &Checksums) -> S3Result<()> {
        for alg in Alg::ALL {
            if let Some(declared) = self.get(alg)
                && computed.get(alg) != Some(declared.trim())
            {
                return Err(s3_error!(
                    BadDigest,
                    "The {} you specified did not match the calculated checksum.",
                    alg.name()
                ));
            }
        }
        Ok(())
    }
}

/// A checksum algorithm S3 knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alg {
    Crc32,
    Crc32c,
    Sha1,
    Sha256,
    Crc64Nvme,
}

impl Alg {
    const ALL: [Alg; 5] = [
        Alg::Crc32,
        Alg::Crc32c,
        Alg::Sha1,
        Alg::Sha256,
        Alg::Crc64Nvme,
    ];

    /// As `x-amz-checksum-algorithm` names it.
    fn name(self) -> &'static str {
        match self {
            Alg::Crc32 => ChecksumAlgorithm::CRC32,
            Alg::Crc32c => ChecksumAlgorithm::CRC32C,
            Alg::Sha1 => ChecksumAlgorithm::SHA1,
            Alg::Sha256 => ChecksumAlgorithm::SHA256,
            Alg::Crc64Nvme => ChecksumAlgorithm::CRC64NVME,
        }
    }

    /// The header (or trailer) that carries it.
    fn header(self) -> &'static str {
        match self {
            Alg::Crc32 => "x-amz-checksum-crc32",
            Alg::Crc32c => "x-amz-checksum-crc32c",
            Alg::Sha1 => "x-amz-checksum-sha1",
            Alg::Sha256 => "x-amz-checksum-sha256",
            Alg::Crc64Nvme => "x-amz-checksum-crc64nvme",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|alg| alg.name().eq_ignore_ascii_case(name.trim()))
    }

    /// `x-amz-checksum-algorithm`, refused when S3 does not know it.
    fn requested(algorithm: Option<&ChecksumAlgorithm>) -> S3Result<Option<Self>> {
        algorithm
            .map(|algorithm| {
                Self::parse(algorithm.as_str()).ok_or_else(|| {
                    s3_error!(
                        InvalidArgument,
                        "Value for x-amz-checksum-algorithm header is invalid."
                    )
                })
            })
            .transpose()
    }

    fn enable(self, hasher: &mut ChecksumHasher) {
        match self {
            Alg::Crc32 => hasher.crc32 = Some(Default::default()),
            Alg::Crc32c => hasher.crc32c = Some(Default::default()),
            Alg::Sha1 => hasher.sha1 = Some(Default::default()),
            Alg::Sha256 => hasher.sha256 = Some(Default::default()),
            Alg::Crc64Nvme => hasher.crc64nvme = Some(Default::default()),
        }
    }
}

/// Content headers kept with an object and given back on `GET`/`HEAD`.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
struct Attributes {
    content_type: Option<String>,
    content_encoding: Option<String>,
    content_disposition: Option<String>,
    content_language: Option<String>,
    cache_control: Option<String>,
    expires: Option<Timestamp>,
    website_redirect_location: Option<String>,
    metadata: Option<HashMap<String, String>>,
}

/// The [`Attributes`] fields of an S3 input.
macro_rules! attributes_of {
    ($input:expr) => {
        Attributes {
            content_type: $input.content_type.clone(),
            content_encoding: $input.content_encoding.clone(),
            content_disposition: $input.content_disposition.clone(),
            content_language: $input.content_language.clone(),
            cache_control: $input.cache_control.clone(),
            expires: $input.expires.clone(),
            website_redirect_location: $input.website_redirect_location.clone(),
            metadata: $input.metadata.clone(),
        }
    };
}

/// Sets an output's content fields from [`Attributes`].
macro_rules! set_attributes {
    ($output:expr, $attributes:expr) => {{
        let attributes: Attributes = $attributes;
        $output.content_type = Some(
            attributes
                .content_type
                .unwrap_or_else(|| "binary/octet-stream".to_owned()),
        );
        $output.content_encoding = attributes.content_encoding;
        $output.content_disposition = attributes.content_disposition;
        $output.content_language = attributes.content_language;
        $output.cache_control = attributes.cache_control;
        $output.expires = attributes.expires;
        $output.website_redirect_location = attributes.website_redirect_location;
        $output.metadata = attributes.metadata;
    }};
}

/// An object's metadata, valid while its file has `size` and `modified`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ObjectMeta {
    key: String,
    size: u64,
    modified: Stamp,
    etag: String,
    #[serde(default)]
    attributes: Attributes,
    #[serde(default)]
    checksums: Checksums,
    #[serde(default)]
    parts: Option<usize>,
}

/// An open multipart upload.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct UploadMeta {
    bucket: String,
    key: String,
    initiated: Stamp,
    #[serde(default)]
    checksum_algorithm: Option<String>,
    #[serde(default)]
    attributes: Attributes,
}

impl UploadMeta {
    fn algorithm(&self) -> Option<Alg> {
        self.checksum_algorithm.as_deref().and_then(Alg::parse)
    }
}

/// One uploaded part.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PartMeta {
    number: i32,
    size: u64,
    modified: Stamp,
    etag: String,
    #[serde(default)]
    checksums: Checksums,
}

fn part_data(number: i32) -> String {
    format!("{number:05}.part")
}

fn part_json(number: i32) -> String {
    format!("{number:05}.json")
}

// ---------------------------------------------------------------------------
// Errors.
// ---------------------------------------------------------------------------

fn internal(what: &str, error: impl std::fmt::Display) -> S3Error {
    s3_error!(InternalError, "{what}: {error}")
}

fn no_such_upload() -> S3Error {
    s3_error!(
        NoSuchUpload,
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
    )
}

fn invalid_part(number: i32) -> S3Error {
    s3_error!(
        InvalidPart,
        "Part {number} could not be found, or its entity tag or checksum did not match the part's."
    )
}

fn precondition_failed() -> S3Error {
    s3_error!(
        PreconditionFailed,
        "At least one of the pre-conditions you specified did not hold"
    )
}

/// A key that names a folder of other keys, or runs through an object.
fn key_conflict() -> S3Error {
    s3_error!(
        InvalidArgument,
        "This store keeps objects as files: a key cannot name an object and also be a folder (a prefix ending in `/`) of other keys."
    )
}

fn is_not_found(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

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

/// 16 random bytes as 32 lower-case hex digits: upload ids and temporary
/// file names.
fn random_id() -> S3Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| internal("no randomness", e))?;
    Ok(hex::encode(bytes))
}

fn is_upload_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
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

/// Reads a JSON file; `None` when there is none.
fn read_json<T: DeserializeOwned>(path: &Path) -> io::Result<Option<T>> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The MD5 of a file from its start, the file left at its start again.
fn md5_of(file: &mut fs::File) -> io::Result<[u8; 16]> {
    file.rewind()?;
    let mut md5 = Md5::new();
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        let read = file.read(&mut buf)?;
        if read == 0 {
            break;
        }
        md5.update(&buf[..read]);
    }
    file.rewind()?;
    Ok(md5.finalize())
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

// ---------------------------------------------------------------------------
// Temporary files.
// ---------------------------------------------------------------------------

/// A file or folder under `tmp/`, removed when dropped unless renamed into
/// place first.
struct Temp {
    path: PathBuf,
    armed: bool,
}

impl Temp {
    /// Renames it to `dest`, replacing a file there.
    fn persist(mut self, dest: &Path) -> io::Result<()> {
        fs::rename(&self.path, dest)?;
        self.armed = false;
        Ok(())
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if self.armed && fs::remove_file(&self.path).is_err() {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// An object's file, metadata file and bucket folder.
#[derive(Debug, Clone)]
struct ObjectPaths {
    key: String,
    bucket_dir: PathBuf,
    data: PathBuf,
    meta: PathBuf,
}

/// An object found: its file open, and what is known of it.
struct Found {
    file: fs::File,
    size: u64,
    modified: Stamp,
    etag: String,
    meta: Option<ObjectMeta>,
}

impl Found {
    fn attributes(&self) -> Attributes {
        self.meta
            .as_ref()
            .map(|meta| meta.attributes.clone())
            .unwrap_or_default()
    }

    fn checksums(&self) -> Checksums {
        self.meta
            .as_ref()
            .map(|meta| meta.checksums.clone())
            .unwrap_or_default()
    }

    /// `GET`'s and `HEAD`'s conditional headers, as S3 weighs them.
    fn check_conditions(
        &self,
        if_match: Option<&ETagCondition>,
        if_none_match: Option<&ETagCondition>,
        if_modified_since: Option<&Timestamp>,
        if_unmodified_since: Option<&Timestamp>,
    ) -> S3Result<()> {
        let matches = |condition: &ETagCondition| match condition.as_etag() {
            None => true,
            Some(etag) => etag.value() == self.etag,
        };
        let modified = self.modified.timestamp(true);
        if let Some(condition) = if_match {
            if !matches(condition) {
                return Err(precondition_failed());
            }
        } else if let Some(since) = if_unmodified_since
            && modified > *since
        {
            return Err(precondition_failed());
        }
        if let Some(condition) = if_none_match {
            if matches(condition) {
                return Err(s3_error!(NotModified));
            }
        } else if let Some(since) = if_modified_since
            && modified <= *since
        {
            return Err(s3_error!(NotModified));
        }
        Ok(())
    }
}

/// What a write requires of the object it replaces.
#[derive(Debug, Clone)]
enum WriteCondition {
    Always,
    /// `If-None-Match: *`.
    Absent,
    /// `If-Match`.
    Matching(ETagCondition),
}

impl WriteCondition {
    fn of(
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

/// A request body written to a temporary file.
struct Received {
    temp: Temp,
    size: u64,
    md5: [u8; 16],
    computed: Checksums,
    modified: Stamp,
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

fn size_i64(size: u64) -> i64 {
    i64::try_from(size).unwrap_or(i64::MAX)
}

/// One entry of an object listing.
enum Entry {
    /// The index of an object in the sorted file list.
    Object(usize),
    /// Keys rolled up to the delimiter.
    Prefix(String),
}

/// One page of an object listing.
struct ObjectPage {
    objects: Vec<Object>,
    prefixes: Vec<String>,
    /// The name of the page's last entry, when more follow.
    next: Option<String>,
}

/// The keys of a listing, percent-encoded when the client asked for
/// `encoding-type=url`.
struct KeyEncoding(bool);

impl KeyEncoding {
    fn of(encoding: Option<&EncodingType>) -> Self {
        Self(encoding.is_some_and(|e| e.as_str() == EncodingType::URL))
    }

    fn apply(&self, text: String) -> String {
        if self.0 {
            utf8_percent_encode(&text, URL_KEY).to_string()
        } else {
            text
        }
    }
}

fn max_entries(requested: Option<i32>) -> S3Result<usize> {
    match requested {
        None => Ok(MAX_PAGE as usize),
        Some(n) if n < 0 => Err(s3_error!(
            InvalidArgument,
            "The maximum number of entries must not be negative."
        )),
        Some(n) => Ok(usize::try_from(n.min(MAX_PAGE)).unwrap_or(0)),
    }
}

// ---------------------------------------------------------------------------
// The store.
// ---------------------------------------------------------------------------

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

    /// The ids of the multipart uploads created and neither completed nor
    /// aborted, in every bucket.
    pub(crate) fn open_upload_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.uploads(None).into_iter().map(|(id, _)| id).collect();
        ids.sort();
        ids
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        self.0
            .visible
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn tmp_dir(&self) -> PathBuf {
        self.0.hidden.join(TMP)
    }

    fn uploads_dir(&self) -> PathBuf {
        self.0.hidden.join(UPLOADS)
    }

    /// Removes what crashed writes left in `tmp/`, leaving anything touched
    /// in the last day: another store may be writing there.
    fn remove_stale_temps(&self) {
        let Ok(entries) = fs::read_dir(self.tmp_dir()) else {
            return;
        };
        let now = SystemTime::now();
        for entry in entries.flatten() {
            let stale = entry
                .metadata()
                .and_then(|meta| meta.modified())
                .is_ok_and(|modified| {
                    now.duration_since(modified)
                        .is_ok_and(|age| age > STALE_TEMP)
                });
            if stale {
                let path = entry.path();
                if fs::remove_file(&path).is_err() {
                    let _ = fs::remove_dir_all(&path);
                }
            }
        }
    }

    fn new_temp(&self) -> S3Result<Temp> {
        Ok(Temp {
            path: self.tmp_dir().join(random_id()?),
            armed: true,
        })
    }

    fn temp_json<T: Serialize>(&self, value: &T) -> S3Result<Temp> {
        let temp = self.new_temp()?;
        let bytes = serde_json::to_vec(value).map_err(|e| internal("cannot encode metadata", e))?;
        fs::write(&temp.path, bytes).map_err(|e| internal("cannot write metadata", e))?;
        Ok(temp)
    }

    /// Moves `dir` into `tmp/`, out of sight; it is deleted when the
    /// returned [`Temp`] is dropped.
    fn retire(&self, dir: &Path) -> S3Result<Temp> {
        let temp = self.new_temp()?;
        match fs::rename(dir, &temp.path) {
            Ok(()) => Ok(temp),
            Err(e) if is_not_found(&e) => Err(no_such_upload()),
            Err(e) => Err(internal("cannot remove a folder", e)),
        }
    }

    fn bucket_dir(&self, bucket: &str) -> S3Result<PathBuf> {
        check_bucket_name(bucket)?;
        Ok(self.0.root.join(bucket))
    }

    fn existing_bucket(&self, bucket: &str) -> S3Result<PathBuf> {
        let dir = self.bucket_dir(bucket)?;
        if dir.is_dir() {
            Ok(dir)
        } else {
            Err(s3_error!(NoSuchBucket))
        }
    }

    fn meta_path(&self, bucket: &str, key: &str) -> PathBuf {
        let name = hex::encode(Sha256::digest(key.as_bytes()));
        self.0
            .hidden
            .join(OBJECTS)
            .join(bucket)
            .join(format!("{name}.json"))
    }

    fn object_paths(&self, bucket: &str, key: &str) -> S3Result<ObjectPaths> {
        let bucket_dir = self.bucket_dir(bucket)?;
        check_key(key)?;
        Ok(ObjectPaths {
            key: key.to_owned(),
            data: bucket_dir.join(key),
            meta: self.meta_path(bucket, key),
            bucket_dir,
        })
    }

    /// Opens an object and reads its metadata; the caller holds the lock.
    /// `None` when there is no such object.
    fn open_locked(
        &self,
        paths: &ObjectPaths,
    ) -> S3Result<Option<(fs::File, fs::Metadata, Option<ObjectMeta>)>> {
        let file = match fs::File::open(&paths.data) {
            Ok(file) => file,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(internal("cannot open the object", e)),
        };
        let stat = file
            .metadata()
            .map_err(|e| internal("cannot read the object's size", e))?;
        if !stat.is_file() {
            return Ok(None);
        }
        let meta = read_json::<ObjectMeta>(&paths.meta).ok().flatten();
        Ok(Some((file, stat, meta)))
    }

    /// An object with what is known of it: its metadata when that still
    /// describes the file, else its MD5 as ETag. Blocks.
    fn find(&self, paths: &ObjectPaths) -> S3Result<Option<Found>> {
        let opened = {
            let _visible = self.lock();
            self.open_locked(paths)?
        };
        let Some((file, stat, meta)) = opened else {
            return Ok(None);
        };
        Self::describe(&paths.key, file, &stat, meta).map(Some)
    }

    fn describe(
        key: &str,
        mut file: fs::File,
        stat: &fs::Metadata,
        meta: Option<ObjectMeta>,
    ) -> S3Result<Found> {
        let modified = Stamp::modified(stat);
        let meta = meta.filter(|m| m.key == key && m.size == stat.len() && m.modified == modified);
        let etag = match &meta {
            Some(meta) => meta.etag.clone(),
            None => {
                hex::encode(md5_of(&mut file).map_err(|e| internal("cannot read the object", e))?)
            }
        };
        Ok(Found {
            file,
            size: stat.len(),
            modified,
            etag,
            meta,
        })
    }

    /// The error for an object that is not there.
    fn missing(paths: &ObjectPaths) -> S3Error {
        if paths.bucket_dir.is_dir() {
            s3_error!(NoSuchKey, "The specified key does not exist.")
        } else {
            s3_error!(NoSuchBucket)
        }
    }

    /// Checks a write's condition against the object in place; the caller
    /// holds the lock.
    fn check_write_locked(&self, condition: &WriteCondition, paths: &ObjectPaths) -> S3Result<()> {
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
    fn commit_object(
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
            if let Some(upload) = retire
                && !upload.join(UPLOAD_JSON).is_file()
            {
                return Err(no_such_upload());
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

    /// Writes a request body to a temporary file, hashing it on the way.
    async fn receive(
        &self,
        body: Option<StreamingBlob>,
        mut hasher: ChecksumHasher,
        limit: u64,
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
                if size > limit {
                    return Err(s3_error!(
                        EntityTooLarge,
                        "Your proposed upload exceeds the maximum allowed size."
                    ));
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

    /// An open upload of `bucket`/`key`: its folder and what it is for.
    /// Blocks (briefly).
    fn load_upload(&self, id: &str, bucket: &str, key: &str) -> S3Result<(PathBuf, UploadMeta)> {
        if !is_upload_id(id) {
            return Err(no_such_upload());
        }
        let dir = self.uploads_dir().join(id);
        let upload: UploadMeta = read_json(&dir.join(UPLOAD_JSON))
            .map_err(|e| internal("cannot read an upload", e))?
            .ok_or_else(no_such_upload)?;
        if upload.bucket != bucket || upload.key != key {
            return Err(no_such_upload());
        }
        Ok((dir, upload))
    }

    /// Every open upload (of `bucket`, when given), by id. Blocks.
    fn uploads(&self, bucket: Option<&str>) -> Vec<(String, UploadMeta)> {
        let Ok(entries) = fs::read_dir(self.uploads_dir()) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|entry| {
                let id = entry.file_name().into_string().ok()?;
                if !is_upload_id(&id) {
                    return None;
                }
                let upload: UploadMeta = read_json(&entry.path().join(UPLOAD_JSON)).ok()??;
                bucket
                    .is_none_or(|bucket| upload.bucket == bucket)
                    .then_some((id, upload))
            })
            .collect()
    }

    /// The parts stored for the upload in `dir`, by number. Blocks.
    fn parts(dir: &Path) -> S3Result<Vec<PartMeta>> {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if is_not_found(&e) => return Err(no_such_upload()),
            Err(e) => return Err(internal("cannot list parts", e)),
        };
        let mut parts = Vec::new();
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if name == UPLOAD_JSON || !name.ends_with(".json") {
                continue;
            }
            if let Some(part) = read_json::<PartMeta>(&entry.path())
                .map_err(|e| internal("cannot read a part", e))?
            {
                parts.push(part);
            }
        }
        parts.sort_by_key(|part| part.number);
        Ok(parts)
    }

    /// One page of the objects of `bucket` under `prefix`, after `after`.
    /// Blocks.
    fn list_objects_page(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
        after: Option<&str>,
        max: usize,
    ) -> S3Result<ObjectPage> {
        let bucket_dir = self.existing_bucket(bucket)?;
        let mut files = walk(&bucket_dir, prefix)?;
        files.sort_by(|a, b| a.0.cmp(&b.0));
        let delimiter = delimiter.filter(|d| !d.is_empty());
        let mut entries: Vec<Entry> = Vec::new();
        let mut more = false;
        for (index, (key, _)) in files.iter().enumerate() {
            let rolled_up = delimiter.and_then(|d| {
                let rest = key.get(prefix.len()..)?;
                let at = rest.find(d)?;
                key.get(..prefix.len() + at + d.len())
            });
            let entry = match rolled_up {
                Some(common) => {
                    if after.is_some_and(|after| common <= after)
                        || matches!(entries.last(), Some(Entry::Prefix(last)) if last == common)
                    {
                        continue;
                    }
                    Entry::Prefix(common.to_owned())
                }
                None => {
                    if after.is_some_and(|after| key.as_str() <= after) {
                        continue;
                    }
                    Entry::Object(index)
                }
            };
            if entries.len() >= max {
                more = true;
                break;
            }
            entries.push(entry);
        }
        let next = more
            .then(|| match entries.last() {
                Some(Entry::Object(index)) => files.get(*index).map(|(key, _)| key.clone()),
                Some(Entry::Prefix(prefix)) => Some(prefix.clone()),
                None => None,
            })
            .flatten();
        let mut page = ObjectPage {
            objects: Vec::new(),
            prefixes: Vec::new(),
            next,
        };
        for entry in entries {
            match entry {
                Entry::Prefix(prefix) => page.prefixes.push(prefix),
                Entry::Object(index) => {
                    let Some((key, stat)) = files.get(index) else {
                        continue;
                    };
                    let modified = Stamp::modified(stat);
                    let meta = read_json::<ObjectMeta>(&self.meta_path(bucket, key))
                        .ok()
                        .flatten()
                        .filter(|m| {
                            &m.key == key && m.size == stat.len() && m.modified == modified
                        });
                    let etag = match meta {
                        Some(meta) => Some(meta.etag),
                        None => fs::File::open(bucket_dir.join(key))
                            .and_then(|mut file| md5_of(&mut file))
                            .ok()
                            .map(hex::encode),
                    };
                    page.objects.push(Object {
                        key: Some(key.clone()),
                        size: Some(size_i64(stat.len())),
                        last_modified: Some(modified.timestamp(false)),
                        e_tag: etag.map(ETag::Strong),
                        storage_class: Some(ObjectStorageClass::from_static(
                            ObjectStorageClass::STANDARD,
                        )),
                        ..Default::default()
                    });
                }
            }
        }
        Ok(page)
    }

    /// Lists for `ListObjects` and `ListObjectsV2`.
    async fn list(
        &self,
        bucket: &str,
        prefix: Option<&str>,
        delimiter: Option<&str>,
        after: Option<String>,
        max_keys: Option<i32>,
    ) -> S3Result<ObjectPage> {
        let max = max_entries(max_keys)?;
        let store = self.clone();
        let bucket = bucket.to_owned();
        let prefix = prefix.unwrap_or_default().to_owned();
        let delimiter = delimiter.map(str::to_owned);
        blocking(move || {
            store.list_objects_page(
                &bucket,
                &prefix,
                delimiter.as_deref(),
                after.as_deref(),
                max,
            )
        })
        .await
    }

    /// Builds the object from the chosen parts and puts it in place; the
    /// upload is gone after. Blocks.
    fn complete(
        &self,
        paths: &ObjectPaths,
        id: &str,
        bucket: &str,
        chosen: &[(i32, Option<ETag>, Checksums)],
        condition: &WriteCondition,
    ) -> S3Result<(String, Checksums)> {
        let (dir, upload) = self.load_upload(id, bucket, &paths.key)?;
        let count = chosen.len();
        let mut parts = Vec::with_capacity(count);
        for (position, (number, etag, declared)) in chosen.iter().enumerate() {
            let part: PartMeta = read_json(&dir.join(part_json(*number)))
                .map_err(|e| internal("cannot read a part", e))?
                .ok_or_else(|| invalid_part(*number))?;
            let same_etag = etag.as_ref().is_some_and(|etag| {
                etag.value()
                    .trim_matches('"')
                    .eq_ignore_ascii_case(&part.etag)
            });
            let same_checksums = Alg::ALL.into_iter().all(|alg| {
                declared
                    .get(alg)
                    .is_none_or(|declared| part.checksums.get(alg) == Some(declared.trim()))
            });
            if !same_etag || !same_checksums {
                return Err(invalid_part(*number));
            }
            if position + 1 < count && part.size < MIN_PART_BYTES {
                return Err(s3_error!(
                    EntityTooSmall,
                    "Your proposed upload is smaller than the minimum allowed object size: part {number} has {} bytes, every part but the last needs 5 MiB.",
                    part.size
                ));
            }
            parts.push(part);
        }
        // Refuse early what would be refused at the end, before copying.
        {
            let _visible = self.lock();
            self.check_write_locked(condition, paths)?;
        }
        let temp = self.new_temp()?;
        {
            let mut out = fs::File::create(&temp.path)
                .map_err(|e| internal("cannot create a temporary file", e))?;
            for part in &parts {
                let mut input = match fs::File::open(dir.join(part_data(part.number))) {
                    Ok(input) => input,
                    // Aborted meanwhile.
                    Err(e) if is_not_found(&e) => return Err(no_such_upload()),
                    Err(e) => return Err(internal("cannot read a part", e)),
                };
                io::copy(&mut input, &mut out).map_err(|e| internal("cannot join the parts", e))?;
            }
        }
        let stat = fs::metadata(&temp.path).map_err(|e| internal("cannot read the object", e))?;
        let mut md5 = Md5::new();
        for part in &parts {
            let digest = hex::decode(&part.etag).map_err(|e| internal("a part's ETag", e))?;
            md5.update(&digest);
        }
        let etag = format!("{}-{count}", hex::encode(md5.finalize()));
        let mut checksums = Checksums::default();
        if let Some(alg) = upload.algorithm()
            && let Some(composite) = composite_checksum(alg, &parts)
        {
            checksums.set(alg, composite);
        }
        let meta = ObjectMeta {
            key: paths.key.clone(),
            size: stat.len(),
            modified: Stamp::modified(&stat),
            etag: etag.clone(),
            attributes: upload.attributes,
            checksums: checksums.clone(),
            parts: Some(count),
        };
        self.commit_object(paths, temp, &meta, condition, Some(&dir))?;
        Ok((etag, checksums))
    }
}

/// S3's checksum of a multipart object: the checksum of the parts' raw
/// checksums, then `-N`. `None` when a part lacks one.
fn composite_checksum(alg: Alg, parts: &[PartMeta]) -> Option<String> {
    let mut hasher = ChecksumHasher::default();
    alg.enable(&mut hasher);
    for part in parts {
        let raw = base64_simd::STANDARD
            .decode_to_vec(part.checksums.get(alg)?)
            .ok()?;
        hasher.update(&raw);
    }
    let whole = Checksums::from_dto(hasher.finalize());
    Some(format!("{}-{}", whole.get(alg)?, parts.len()))
}

/// Every file under `bucket_dir` whose key starts with `prefix`, with its
/// key, unsorted. Folders that cannot hold such a key are not entered.
fn walk(bucket_dir: &Path, prefix: &str) -> S3Result<Vec<(String, fs::Metadata)>> {
    let mut found = Vec::new();
    let mut pending = vec![(bucket_dir.to_path_buf(), String::new())];
    while let Some((dir, base)) = pending.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            // Removed meanwhile: nothing there.
            Err(e) if is_not_found(&e) => continue,
            Err(e) => return Err(internal("cannot list the bucket", e)),
        };
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let key = format!("{base}{name}");
            if kind.is_dir() {
                let folder = format!("{key}/");
                if folder.starts_with(prefix) || prefix.starts_with(&folder) {
                    pending.push((entry.path(), folder));
                }
            } else if kind.is_file()
                && key.starts_with(prefix)
                && let Ok(stat) = entry.metadata()
            {
                found.push((key, stat));
            }
        }
    }
    Ok(found)
}

fn encode_token(name: &str) -> String {
    base64_simd::URL_SAFE_NO_PAD.encode_to_string(name.as_bytes())
}

fn decode_token(token: &str) -> S3Result<String> {
    base64_simd::URL_SAFE_NO_PAD
        .decode_to_vec(token.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| {
            s3_error!(
                InvalidArgument,
                "The continuation token provided is incorrect"
            )
        })
}

#[async_trait::async_trait]
impl S3 for FileStore {
    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        let dir = self.bucket_dir(&req.input.bucket)?;
        match fs::create_dir(&dir) {
            Ok(()) => Ok(S3Response::new(CreateBucketOutput::default())),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(s3_error!(
                BucketAlreadyOwnedByYou,
                "Your previous request to create the named bucket succeeded and you already own it."
            )),
            Err(e) => Err(internal("cannot create the bucket", e)),
        }
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        let bucket = req.input.bucket;
        let dir = self.existing_bucket(&bucket)?;
        let store = self.clone();
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
                let _ = fs::remove_dir_all(store.0.hidden.join(OBJECTS).join(&bucket));
                retired
            };
            drop(retired);
            Ok(())
        })
        .await?;
        Ok(S3Response::new(DeleteBucketOutput::default()))
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.existing_bucket(&req.input.bucket)?;
        Ok(S3Response::new(HeadBucketOutput::default()))
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.existing_bucket(&req.input.bucket)?;
        Ok(S3Response::new(GetBucketLocationOutput::default()))
    }

    async fn list_buckets(
        &self,
        _req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        let root = self.0.root.clone();
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

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let S3Request {
            input,
            headers,
            trailing_headers,
            ..
        } = req;
        let paths = self.object_paths(&input.bucket, &input.key)?;
        self.existing_bucket(&input.bucket)?;
        let condition = WriteCondition::of(input.if_match.as_ref(), input.if_none_match.as_ref())?;
        if input
            .content_length
            .is_some_and(|length| u64::try_from(length).is_ok_and(|l| l > MAX_PUT_BYTES))
        {
            return Err(s3_error!(
                EntityTooLarge,
                "Your proposed upload exceeds the maximum allowed size."
            ));
        }
        let declared = checksums_of!(input);
        let hasher = hasher_for(&declared, input.checksum_algorithm.as_ref(), &headers, None)?;
        let attributes = attributes_of!(input);
        let received = self.receive(input.body, hasher, MAX_PUT_BYTES).await?;
        verify_content_md5(input.content_md5.as_deref(), &received.md5)?;
        with_trailers(declared, trailing_headers.as_ref())?.verify(&received.computed)?;
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
        let store = self.clone();
        let temp = received.temp;
        blocking(move || store.commit_object(&paths, temp, &meta, &condition, None)).await?;
        let mut output = PutObjectOutput {
            e_tag: Some(ETag::Strong(etag)),
            ..Default::default()
        };
        set_checksums!(output, received.computed);
        Ok(S3Response::new(output))
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let input = req.input;
        let paths = self.object_paths(&input.bucket, &input.key)?;
        let store = self.clone();
        let found =
            blocking(move || store.find(&paths)?.ok_or_else(|| Self::missing(&paths))).await?;
        found.check_conditions(
            input.if_match.as_ref(),
            input.if_none_match.as_ref(),
            input.if_modified_since.as_ref(),
            input.if_unmodified_since.as_ref(),
        )?;
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
        let checksum_mode = input
            .checksum_mode
            .as_ref()
            .is_some_and(|mode| mode.as_str().eq_ignore_ascii_case("ENABLED"));
        let (attributes, checksums, parts) = (
            found.attributes(),
            found.checksums(),
            found.meta.as_ref().and_then(|meta| meta.parts),
        );
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
            parts_count: parts.and_then(|n| i32::try_from(n).ok()),
            ..Default::default()
        };
        set_attributes!(output, attributes);
        // S3 gives checksums when asked, and only for the whole object.
        if checksum_mode && whole {
            set_checksums!(output, checksums);
        }
        Ok(S3Response::new(output))
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let input = req.input;
        let paths = self.object_paths(&input.bucket, &input.key)?;
        let store = self.clone();
        let found =
            blocking(move || store.find(&paths)?.ok_or_else(|| Self::missing(&paths))).await?;
        found.check_conditions(
            input.if_match.as_ref(),
            input.if_none_match.as_ref(),
            input.if_modified_since.as_ref(),
            input.if_unmodified_since.as_ref(),
        )?;
        let checksum_mode = input
            .checksum_mode
            .as_ref()
            .is_some_and(|mode| mode.as_str().eq_ignore_ascii_case("ENABLED"));
        let mut output = HeadObjectOutput {
            content_length: Some(size_i64(found.size)),
            accept_ranges: Some("bytes".to_owned()),
            e_tag: Some(ETag::Strong(found.etag.clone())),
            last_modified: Some(found.modified.timestamp(false)),
            parts_count: found
                .meta
                .as_ref()
                .and_then(|meta| meta.parts)
                .and_then(|n| i32::try_from(n).ok()),
            ..Default::default()
        };
        set_attributes!(output, found.attributes());
        if checksum_mode {
            set_checksums!(output, found.checksums());
        }
        Ok(S3Response::new(output))
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let input = req.input;
        let paths = self.object_paths(&input.bucket, &input.key)?;
        let condition = match input.if_match {
            Some(condition) => WriteCondition::Matching(condition),
            None => WriteCondition::Always,
        };
        let store = self.clone();
        blocking(move || {
            let _visible = store.lock();
            if !paths.bucket_dir.is_dir() {
                return Err(s3_error!(NoSuchBucket));
            }
            store.check_write_locked(&condition, &paths)?;
            if fs::symlink_metadata(&paths.data).is_ok_and(|stat| stat.is_file()) {
                fs::remove_file(&paths.data)
                    .map_err(|e| internal("cannot delete the object", e))?;
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

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        let input = req.input;
        let page = self
            .list(
                &input.bucket,
                input.prefix.as_deref(),
                input.delimiter.as_deref(),
                input.marker.clone(),
                input.max_keys,
            )
            .await?;
        let encoding = KeyEncoding::of(input.encoding_type.as_ref());
        let max = max_entries(input.max_keys)?;
        Ok(S3Response::new(ListObjectsOutput {
            is_truncated: Some(page.next.is_some()),
            next_marker: page.next.map(|next| encoding.apply(next)),
            contents: Some(
                page.objects
                    .into_iter()
                    .map(|object| Object {
                        key: object.key.map(|key| encoding.apply(key)),
                        ..object
                    })
                    .collect(),
            ),
            common_prefixes: (!page.prefixes.is_empty()).then(|| {
                page.prefixes
                    .into_iter()
                    .map(|prefix| CommonPrefix {
                        prefix: Some(encoding.apply(prefix)),
                    })
                    .collect()
            }),
            name: Some(input.bucket),
            prefix: input.prefix.map(|prefix| encoding.apply(prefix)),
            marker: input.marker.map(|marker| encoding.apply(marker)),
            delimiter: input.delimiter.map(|delimiter| encoding.apply(delimiter)),
            max_keys: Some(i32::try_from(max).unwrap_or(MAX_PAGE)),
            encoding_type: input.encoding_type,
            ..Default::default()
        }))
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let input = req.input;
        let after = match &input.continuation_token {
            Some(token) => Some(decode_token(token)?),
            None => input.start_after.clone(),
        };
        let page = self
            .list(
                &input.bucket,
                input.prefix.as_deref(),
                input.delimiter.as_deref(),
                after,
                input.max_keys,
            )
            .await?;
        let encoding = KeyEncoding::of(input.encoding_type.as_ref());
        let max = max_entries(input.max_keys)?;
        let count = page.objects.len() + page.prefixes.len();
        Ok(S3Response::new(ListObjectsV2Output {
            is_truncated: Some(page.next.is_some()),
            next_continuation_token: page.next.as_deref().map(encode_token),
            key_count: Some(i32::try_from(count).unwrap_or(MAX_PAGE)),
            contents: (!page.objects.is_empty()).then(|| {
                page.objects
                    .into_iter()
                    .map(|object| Object {
                        key: object.key.map(|key| encoding.apply(key)),
                        ..object
                    })
                    .collect()
            }),
            common_prefixes: (!page.prefixes.is_empty()).then(|| {
                page.prefixes
                    .into_iter()
                    .map(|prefix| CommonPrefix {
                        prefix: Some(encoding.apply(prefix)),
                    })
                    .collect()
            }),
            name: Some(input.bucket),
            prefix: input.prefix.map(|prefix| encoding.apply(prefix)),
            start_after: input.start_after.map(|after| encoding.apply(after)),
            delimiter: input.delimiter.map(|delimiter| encoding.apply(delimiter)),
            continuation_token: input.continuation_token,
            max_keys: Some(i32::try_from(max).unwrap_or(MAX_PAGE)),
            encoding_type: input.encoding_type,
            ..Default::default()
        }))
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let input = req.input;
        self.object_paths(&input.bucket, &input.key)?;
        self.existing_bucket(&input.bucket)?;
        let algorithm = Alg::requested(input.checksum_algorithm.as_ref())?;
        let id = random_id()?;
        let upload = UploadMeta {
            bucket: input.bucket.clone(),
            key: input.key.clone(),
            initiated: Stamp::now(),
            checksum_algorithm: algorithm.map(|alg| alg.name().to_owned()),
            attributes: attributes_of!(input),
        };
        let store = self.clone();
        let dest = self.uploads_dir().join(&id);
        blocking(move || {
            // Made whole in tmp/, then moved into uploads/ at once.
            let dir = store.new_temp()?;
            fs::create_dir(&dir.path).map_err(|e| internal("cannot create the upload", e))?;
            let json =
                serde_json::to_vec(&upload).map_err(|e| internal("cannot encode the upload", e))?;
            fs::write(dir.path.join(UPLOAD_JSON), json)
                .map_err(|e| internal("cannot create the upload", e))?;
            dir.persist(&dest)
                .map_err(|e| internal("cannot create the upload", e))
        })
        .await?;
        Ok(S3Response::new(CreateMultipartUploadOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(id),
            checksum_algorithm: input.checksum_algorithm,
            ..Default::default()
        }))
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        let S3Request {
            input,
            headers,
            trailing_headers,
            ..
        } = req;
        if !(1..=MAX_PART_NUMBER).contains(&input.part_number) {
            return Err(s3_error!(
                InvalidArgument,
                "Part number must be an integer between 1 and 10000, inclusive"
            ));
        }
        self.object_paths(&input.bucket, &input.key)?;
        if input
            .content_length
            .is_some_and(|length| u64::try_from(length).is_ok_and(|l| l > MAX_PUT_BYTES))
        {
            return Err(s3_error!(
                EntityTooLarge,
                "Your proposed upload exceeds the maximum allowed size."
            ));
        }
        let (dir, upload) = self.load_upload(&input.upload_id, &input.bucket, &input.key)?;
        let declared = checksums_of!(input);
        let hasher = hasher_for(
            &declared,
            input.checksum_algorithm.as_ref(),
            &headers,
            upload.algorithm(),
        )?;
        let received = self.receive(input.body, hasher, MAX_PUT_BYTES).await?;
        verify_content_md5(input.content_md5.as_deref(), &received.md5)?;
        with_trailers(declared, trailing_headers.as_ref())?.verify(&received.computed)?;
        let number = input.part_number;
        let part = PartMeta {
            number,
            size: received.size,
            modified: received.modified,
            etag: hex::encode(received.md5),
            checksums: received.computed.clone(),
        };
        let etag = part.etag.clone();
        let store = self.clone();
        let temp = received.temp;
        blocking(move || {
            let json = store.temp_json(&part)?;
            let _visible = store.lock();
            if !dir.join(UPLOAD_JSON).is_file() {
                return Err(no_such_upload());
            }
            temp.persist(&dir.join(part_data(number)))
                .map_err(|e| internal("cannot store the part", e))?;
            json.persist(&dir.join(part_json(number)))
                .map_err(|e| internal("cannot store the part", e))
        })
        .await?;
        let mut output = UploadPartOutput {
            e_tag: Some(ETag::Strong(etag)),
            ..Default::default()
        };
        set_checksums!(output, received.computed);
        Ok(S3Response::new(output))
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        let input = req.input;
        self.object_paths(&input.bucket, &input.key)?;
        let max = max_entries(input.max_parts)?;
        let marker = input.part_number_marker.unwrap_or(0);
        let store = self.clone();
        let (id, bucket, key) = (
            input.upload_id.clone(),
            input.bucket.clone(),
            input.key.clone(),
        );
        let (upload, mut parts) = blocking(move || {
            let (dir, upload) = store.load_upload(&id, &bucket, &key)?;
            Ok((upload, FileStore::parts(&dir)?))
        })
        .await?;
        parts.retain(|part| part.number > marker);
        let truncated = parts.len() > max;
        parts.truncate(max);
        let next = parts.last().map(|part| part.number).filter(|_| truncated);
        let parts = parts
            .into_iter()
            .map(|part| {
                let mut out = Part {
                    part_number: Some(part.number),
                    size: Some(size_i64(part.size)),
                    e_tag: Some(ETag::Strong(part.etag)),
                    last_modified: Some(part.modified.timestamp(false)),
                    ..Default::default()
                };
                set_checksums!(out, part.checksums);
                out
            })
            .collect();
        Ok(S3Response::new(ListPartsOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(input.upload_id),
            parts: Some(parts),
            part_number_marker: input.part_number_marker,
            next_part_number_marker: next,
            max_parts: Some(i32::try_from(max).unwrap_or(MAX_PAGE)),
            is_truncated: Some(truncated),
            checksum_algorithm: upload
                .algorithm()
                .map(|alg| ChecksumAlgorithm::from_static(alg.name())),
            storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
            ..Default::default()
        }))
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let input = req.input;
        let paths = self.object_paths(&input.bucket, &input.key)?;
        let condition = WriteCondition::of(input.if_match.as_ref(), input.if_none_match.as_ref())?;
        let requested = input
            .multipart_upload
            .and_then(|upload| upload.parts)
            .filter(|parts| !parts.is_empty())
            .ok_or_else(|| {
                s3_error!(
                    MalformedXML,
                    "The XML you provided was not well-formed or did not validate against our published schema: it lists no part."
                )
            })?;
        let mut chosen = Vec::with_capacity(requested.len());
        let mut previous = 0;
        for part in requested {
            let number = part
                .part_number
                .ok_or_else(|| s3_error!(MalformedXML, "A part in the list has no part number."))?;
            if !(1..=MAX_PART_NUMBER).contains(&number) {
                return Err(invalid_part(number));
            }
            if number <= previous {
                return Err(s3_error!(
                    InvalidPartOrder,
                    "The list of parts was not in ascending order. The parts list must be specified in order by part number."
                ));
            }
            previous = number;
            let checksums = checksums_of!(part);
            chosen.push((number, part.e_tag, checksums));
        }
        let store = self.clone();
        let (id, bucket) = (input.upload_id.clone(), input.bucket.clone());
        let (etag, checksums) =
            blocking(move || store.complete(&paths, &id, &bucket, &chosen, &condition)).await?;
        let mut output = CompleteMultipartUploadOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            e_tag: Some(ETag::Strong(etag)),
            ..Default::default()
        };
        set_checksums!(output, checksums);
        Ok(S3Response::new(output))
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let input = req.input;
        self.object_paths(&input.bucket, &input.key)?;
        let store = self.clone();
        blocking(move || {
            let (dir, _) = store.load_upload(&input.upload_id, &input.bucket, &input.key)?;
            let retired = {
                let _visible = store.lock();
                if !dir.join(UPLOAD_JSON).is_file() {
                    return Err(no_such_upload());
                }
                store.retire(&dir)?
            };
            drop(retired);
            Ok(())
        })
        .await?;
        Ok(S3Response::new(AbortMultipartUploadOutput::default()))
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        let input = req.input;
        self.existing_bucket(&input.bucket)?;
        if input.delimiter.as_deref().is_some_and(|d| !d.is_empty()) {
            return Err(s3_error!(
                NotImplemented,
                "This store lists multipart uploads without a delimiter."
            ));
        }
        let max = match input.max_uploads {
            None => MAX_PAGE as usize,
            Some(n) => usize::try_from(n.clamp(1, MAX_PAGE)).unwrap_or(1),
        };
        let store = self.clone();
        let bucket = input.bucket.clone();
        let mut uploads = blocking(move || Ok(store.uploads(Some(&bucket)))).await?;
        let prefix = input.prefix.clone().unwrap_or_default();
        uploads.retain(|(id, upload)| {
            upload.key.starts_with(&prefix)
                && match (&input.key_marker, &input.upload_id_marker) {
                    (Some(key), Some(id_marker)) => {
                        upload.key > *key || (upload.key == *key && id > id_marker)
                    }
                    (Some(key), None) => upload.key > *key,
                    (None, _) => true,
                }
        });
        uploads.sort_by(|a, b| (&a.1.key, &a.0).cmp(&(&b.1.key, &b.0)));
        let truncated = uploads.len() > max;
        uploads.truncate(max);
        let next = uploads
            .last()
            .filter(|_| truncated)
            .map(|(id, upload)| (upload.key.clone(), id.clone()));
        let encoding = KeyEncoding::of(input.encoding_type.as_ref());
        let listed = uploads
            .into_iter()
            .map(|(id, upload)| MultipartUpload {
                initiated: Some(upload.initiated.timestamp(false)),
                checksum_algorithm: upload
                    .algorithm()
                    .map(|alg| ChecksumAlgorithm::from_static(alg.name())),
                key: Some(encoding.apply(upload.key)),
                upload_id: Some(id),
                storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
                ..Default::default()
            })
            .collect();
        let (next_key_marker, next_upload_id_marker) = match next {
            Some((key, id)) => (Some(encoding.apply(key)), Some(id)),
            None => (None, None),
        };
        Ok(S3Response::new(ListMultipartUploadsOutput {
            bucket: Some(input.bucket),
            prefix: input.prefix.map(|prefix| encoding.apply(prefix)),
            key_marker: input.key_marker.map(|key| encoding.apply(key)),
            upload_id_marker: input.upload_id_marker,
            max_uploads: Some(i32::try_from(max).unwrap_or(MAX_PAGE)),
            is_truncated: Some(truncated),
            next_key_marker,
            next_upload_id_marker,
            uploads: Some(listed),
            encoding_type: input.encoding_type,
            ..Default::default()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use s3s::dto::{CompletedMultipartUpload, CompletedPart, Range};

    const BUCKET: &str = "uploads";
    const MIB: usize = 1024 * 1024;

    /// A store in a temporary folder with the bucket [`BUCKET`].
    fn store() -> (tempfile::TempDir, FileStore) {
        let dir = tempfile::tempdir().expect("a temporary folder");
        fs::create_dir(dir.path().join(BUCKET)).expect("a bucket");
        let store = FileStore::open(dir.path()).expect("a store");
        (dir, store)
    }

    fn request<T>(input: T) -> S3Request<T> {
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

    fn blob(bytes: &[u8]) -> Option<StreamingBlob> {
        Some(StreamingBlob::from(s3s::Body::from(
            Bytes::copy_from_slice(bytes),
        )))
    }

    fn put_input(key: &str, body: &[u8]) -> PutObjectInput {
        PutObjectInput {
            bucket: BUCKET.into(),
            key: key.into(),
            body: blob(body),
            content_length: Some(size_i64(body.len() as u64)),
            ..Default::default()
        }
    }

    async fn put(store: &FileStore, key: &str, body: &[u8]) -> S3Result<PutObjectOutput> {
        Ok(store
            .put_object(request(put_input(key, body)))
            .await?
            .output)
    }

    fn get_input(key: &str) -> GetObjectInput {
        GetObjectInput {
            bucket: BUCKET.into(),
            key: key.into(),
            ..Default::default()
        }
    }

    async fn read_body(output: GetObjectOutput) -> Vec<u8> {
        let mut body = output.body.expect("a body");
        let mut bytes = Vec::new();
        while let Some(chunk) = body.next().await {
            bytes.extend_from_slice(&chunk.expect("a chunk"));
        }
        bytes
    }

    async fn get(store: &FileStore, key: &str) -> S3Result<Vec<u8>> {
        let output = store.get_object(request(get_input(key))).await?.output;
        Ok(read_body(output).await)
    }

    fn code(result: S3Result<impl Sized>) -> String {
        match result {
            Ok(_) => "no error".to_owned(),
            Err(error) => error.code().as_str().to_owned(),
        }
    }

    fn md5_hex(bytes: &[u8]) -> String {
        hex::encode(Md5::checksum(bytes))
    }

    fn sha256_b64(bytes: &[u8]) -> String {
        base64_simd::STANDARD.encode_to_string(Sha256::digest(bytes))
    }

    /// What is in `dir`, by name, sorted.
    fn names(dir: &Path) -> Vec<String> {
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
    async fn a_key_cannot_be_both_an_object_and_a_folder() {
        let (_dir, store) = store();
        put(&store, "a", b"file").await.expect("stored");
        assert_eq!(code(put(&store, "a/b", b"x").await), "InvalidArgument");
        put(&store, "c/d", b"x").await.expect("stored");
        assert_eq!(code(put(&store, "c", b"x").await), "InvalidArgument");
        assert_eq!(code(get(&store, "c").await), "NoSuchKey");
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

    async fn list_v2(
        store: &FileStore,
        prefix: Option<&str>,
        delimiter: Option<&str>,
        max_keys: i32,
    ) -> Vec<String> {
        let mut names = Vec::new();
        let mut token = None;
        for _ in 0..100 {
            let output = store
                .list_objects_v2(request(ListObjectsV2Input {
                    bucket: BUCKET.into(),
                    prefix: prefix.map(str::to_owned),
                    delimiter: delimiter.map(str::to_owned),
                    max_keys: Some(max_keys),
                    continuation_token: token.clone(),
                    ..Default::default()
                }))
                .await
                .expect("listed")
                .output;
            let mut page: Vec<String> = output
                .contents
                .unwrap_or_default()
                .into_iter()
                .filter_map(|object| object.key)
                .chain(
                    output
                        .common_prefixes
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(|prefix| prefix.prefix),
                )
                .collect();
            assert!(page.len() <= usize::try_from(max_keys).unwrap_or(0));
            assert_eq!(
                output.key_count,
                Some(i32::try_from(page.len()).unwrap_or(0))
            );
            page.sort();
            names.extend(page);
            match output.next_continuation_token {
                Some(next) => {
                    assert_eq!(output.is_truncated, Some(true));
                    token = Some(next);
                }
                None => return names,
            }
        }
        panic!("the listing never ended");
    }

    #[tokio::test]
    async fn list_objects_v2_pages_through_keys_and_common_prefixes() {
        let (_dir, store) = store();
        for key in ["d.txt", "b/1", "a.txt", "c/x/y", "b/2", "c/z"] {
            put(&store, key, key.as_bytes()).await.expect("stored");
        }
        let all = ["a.txt", "b/1", "b/2", "c/x/y", "c/z", "d.txt"];
        assert_eq!(list_v2(&store, None, None, 1000).await, all);
        assert_eq!(list_v2(&store, None, None, 2).await, all);
        assert_eq!(list_v2(&store, None, None, 1).await, all);
        assert_eq!(list_v2(&store, Some("b/"), None, 1).await, ["b/1", "b/2"]);
        assert_eq!(
            list_v2(&store, Some("c"), None, 1000).await,
            ["c/x/y", "c/z"]
        );
        let rolled = ["a.txt", "b/", "c/", "d.txt"];
        assert_eq!(list_v2(&store, None, Some("/"), 1000).await, rolled);
        assert_eq!(list_v2(&store, None, Some("/"), 1).await, rolled);
        assert_eq!(
            list_v2(&store, Some("c/"), Some("/"), 1).await,
            ["c/x/", "c/z"]
        );

        let output = store
            .list_objects_v2(request(ListObjectsV2Input {
                bucket: BUCKET.into(),
                max_keys: Some(1),
                ..Default::default()
            }))
            .await
            .expect("listed")
            .output;
        let object = &output.contents.expect("one object")[0];
        assert_eq!(object.e_tag, Some(ETag::Strong(md5_hex(b"a.txt"))));
        assert_eq!(object.size, Some(5));

        let bad_token = store
            .list_objects_v2(request(ListObjectsV2Input {
                bucket: BUCKET.into(),
                continuation_token: Some("%%%".into()),
                ..Default::default()
            }))
            .await;
        assert_eq!(code(bad_token), "InvalidArgument");
    }

    async fn create_upload(store: &FileStore, key: &str) -> String {
        store
            .create_multipart_upload(request(CreateMultipartUploadInput {
                bucket: BUCKET.into(),
                key: key.into(),
                checksum_algorithm: Some(ChecksumAlgorithm::from_static(ChecksumAlgorithm::SHA256)),
                content_type: Some("application/x-test".into()),
                ..Default::default()
            }))
            .await
            .expect("created")
            .output
            .upload_id
            .expect("an upload id")
    }

    fn part_input(key: &str, id: &str, number: i32, body: &[u8]) -> UploadPartInput {
        UploadPartInput {
            bucket: BUCKET.into(),
            key: key.into(),
            upload_id: id.into(),
            part_number: number,
            body: blob(body),
            content_length: Some(size_i64(body.len() as u64)),
            checksum_sha256: Some(sha256_b64(body)),
            ..Default::default()
        }
    }

    async fn upload_part(
        store: &FileStore,
        key: &str,
        id: &str,
        number: i32,
        body: &[u8],
    ) -> S3Result<UploadPartOutput> {
        Ok(store
            .upload_part(request(part_input(key, id, number, body)))
            .await?
            .output)
    }

    fn completed(parts: &[(i32, &str)]) -> Option<CompletedMultipartUpload> {
        Some(CompletedMultipartUpload {
            parts: Some(
                parts
                    .iter()
                    .map(|(number, etag)| CompletedPart {
                        part_number: Some(*number),
                        e_tag: Some(ETag::Strong((*etag).to_owned())),
                        ..Default::default()
                    })
                    .collect(),
            ),
        })
    }

    fn complete_input(
        key: &str,
        id: &str,
        parts: Option<CompletedMultipartUpload>,
    ) -> CompleteMultipartUploadInput {
        CompleteMultipartUploadInput {
            bucket: BUCKET.into(),
            key: key.into(),
            upload_id: id.into(),
            multipart_upload: parts,
            ..Default::default()
        }
    }

    async fn complete(
        store: &FileStore,
        key: &str,
        id: &str,
        parts: &[(i32, &str)],
    ) -> S3Result<CompleteMultipartUploadOutput> {
        Ok(store
            .complete_multipart_upload(request(complete_input(key, id, completed(parts))))
            .await?
            .output)
    }

    #[tokio::test]
    async fn a_multipart_upload_completes_only_with_its_parts_etags() {
        let (dir, store) = store();
        let key = "mp/big.bin";
        let id = create_upload(&store, key).await;
        assert!(
            id.len() >= 16 && id.bytes().all(|b| b.is_ascii_alphanumeric()),
            "{id}"
        );
        assert_eq!(store.open_upload_ids(), [id.as_str()]);
        let one = vec![1u8; 5 * MIB];
        let two = b"the last part may be small".to_vec();
        let first = upload_part(&store, key, &id, 1, &one)
            .await
            .expect("part 1");
        assert_eq!(first.e_tag, Some(ETag::Strong(md5_hex(&one))));
        assert_eq!(first.checksum_sha256, Some(sha256_b64(&one)));
        upload_part(&store, key, &id, 2, &two)
            .await
            .expect("part 2");
        let (etag1, etag2) = (md5_hex(&one), md5_hex(&two));

        let parts = store
            .list_parts(request(ListPartsInput {
                bucket: BUCKET.into(),
                key: key.into(),
                upload_id: id.clone(),
                ..Default::default()
            }))
            .await
            .expect("listed")
            .output
            .parts
            .unwrap_or_default();
        let listed: Vec<_> = parts
            .iter()
            .map(|part| (part.part_number, part.size, part.e_tag.clone()))
            .collect();
        assert_eq!(
            listed,
            [
                (
                    Some(1),
                    Some(size_i64(one.len() as u64)),
                    Some(ETag::Strong(etag1.clone()))
                ),
                (
                    Some(2),
                    Some(size_i64(two.len() as u64)),
                    Some(ETag::Strong(etag2.clone()))
                ),
            ]
        );

        assert_eq!(
            code(complete(&store, key, &id, &[(1, &etag1), (2, &etag1)]).await),
            "InvalidPart"
        );
        assert_eq!(
            code(complete(&store, key, &id, &[(1, &etag1), (3, &etag2)]).await),
            "InvalidPart"
        );
        assert_eq!(
            code(complete(&store, key, &id, &[(2, &etag2), (1, &etag1)]).await),
            "InvalidPartOrder"
        );
        assert_eq!(
            code(complete(&store, key, &id, &[(1, &etag1), (1, &etag1)]).await),
            "InvalidPartOrder"
        );
        assert_eq!(
            code(
                store
                    .complete_multipart_upload(request(complete_input(key, &id, None)))
                    .await
            ),
            "MalformedXML"
        );
        assert_eq!(
            code(complete(&store, "mp/other.bin", &id, &[(1, &etag1)]).await),
            "NoSuchUpload"
        );
        assert!(!dir.path().join(BUCKET).join(key).exists());
        assert_eq!(store.open_upload_ids(), [id.as_str()], "still open");

        let quoted = format!("\"{etag2}\"");
        let done = complete(&store, key, &id, &[(1, &etag1), (2, &quoted)])
            .await
            .expect("completed");
        let mut md5 = Md5::new();
        md5.update(&Md5::checksum(&one));
        md5.update(&Md5::checksum(&two));
        let expected = format!("{}-2", hex::encode(md5.finalize()));
        assert_eq!(done.e_tag, Some(ETag::Strong(expected.clone())));
        let mut sha = Sha256::new();
        sha.update(Sha256::digest(&one));
        sha.update(Sha256::digest(&two));
        let composite = format!(
            "{}-2",
            base64_simd::STANDARD.encode_to_string(sha.finalize())
        );
        assert_eq!(done.checksum_sha256, Some(composite));

        let stored = fs::read(dir.path().join(BUCKET).join(key)).expect("the object");
        assert_eq!(stored, [one.as_slice(), two.as_slice()].concat());
        assert!(store.open_upload_ids().is_empty());
        assert!(names(&store.tmp_dir()).is_empty(), "the parts are gone");
        let head = store
            .head_object(request(HeadObjectInput {
                bucket: BUCKET.into(),
                key: key.into(),
                ..Default::default()
            }))
            .await
            .expect("head")
            .output;
        assert_eq!(head.e_tag, Some(ETag::Strong(expected)));
        assert_eq!(head.content_type.as_deref(), Some("application/x-test"));
        assert_eq!(head.parts_count, Some(2));

        // A lost answer's retry meets an upload that is gone.
        assert_eq!(
            code(complete(&store, key, &id, &[(1, &etag1), (2, &etag2)]).await),
            "NoSuchUpload"
        );
    }

    #[tokio::test]
    async fn a_small_part_before_the_last_is_refused() {
        let (_dir, store) = store();
        let id = create_upload(&store, "small").await;
        upload_part(&store, "small", &id, 1, b"tiny")
            .await
            .expect("part 1");
        upload_part(&store, "small", &id, 2, b"last")
            .await
            .expect("part 2");
        let parts = [(1, md5_hex(b"tiny")), (2, md5_hex(b"last"))];
        let parts: Vec<(i32, &str)> = parts.iter().map(|(n, e)| (*n, e.as_str())).collect();
        assert_eq!(
            code(complete(&store, "small", &id, &parts).await),
            "EntityTooSmall"
        );
        // One small part alone is a whole object.
        complete(&store, "small", &id, &parts[..1])
            .await
            .expect("one part");
        assert_eq!(get(&store, "small").await.expect("read"), b"tiny");
    }

    #[tokio::test]
    async fn a_part_whose_checksum_does_not_match_is_refused() {
        let (_dir, store) = store();
        let id = create_upload(&store, "k").await;
        let mut input = part_input("k", &id, 1, b"body");
        input.checksum_sha256 = Some(sha256_b64(b"other"));
        assert_eq!(code(store.upload_part(request(input)).await), "BadDigest");
        let mut input = part_input("k", &id, 0, b"body");
        input.part_number = 10_001;
        assert_eq!(
            code(store.upload_part(request(input)).await),
            "InvalidArgument"
        );
        // The part that was stored lists its checksum; Complete must agree.
        upload_part(&store, "k", &id, 1, b"body")
            .await
            .expect("part 1");
        let mut parts = completed(&[(1, &md5_hex(b"body"))]);
        if let Some(part) = parts
            .as_mut()
            .and_then(|upload| upload.parts.as_mut())
            .and_then(|parts| parts.first_mut())
        {
            part.checksum_sha256 = Some(sha256_b64(b"other"));
        }
        let refused = store
            .complete_multipart_upload(request(complete_input("k", &id, parts)))
            .await;
        assert_eq!(code(refused), "InvalidPart");
    }

    #[tokio::test]
    async fn complete_honours_if_none_match() {
        let (_dir, store) = store();
        put(&store, "taken", b"first").await.expect("stored");
        let id = create_upload(&store, "taken").await;
        upload_part(&store, "taken", &id, 1, b"second")
            .await
            .expect("part");
        let mut input = complete_input("taken", &id, completed(&[(1, &md5_hex(b"second"))]));
        input.if_none_match = Some(ETagCondition::Any);
        assert_eq!(
            code(store.complete_multipart_upload(request(input)).await),
            "PreconditionFailed"
        );
        assert_eq!(get(&store, "taken").await.expect("read"), b"first");
        assert_eq!(store.open_upload_ids(), [id]);
    }

    #[tokio::test]
    async fn an_aborted_upload_is_gone() {
        let (_dir, store) = store();
        let id = create_upload(&store, "k").await;
        upload_part(&store, "k", &id, 1, b"part")
            .await
            .expect("part");
        let abort = |key: &str, id: &str| {
            request(AbortMultipartUploadInput {
                bucket: BUCKET.into(),
                key: key.into(),
                upload_id: id.into(),
                ..Default::default()
            })
        };
        assert_eq!(
            code(store.abort_multipart_upload(abort("other", &id)).await),
            "NoSuchUpload"
        );
        store
            .abort_multipart_upload(abort("k", &id))
            .await
            .expect("aborted");
        assert!(store.open_upload_ids().is_empty());
        assert!(names(&store.tmp_dir()).is_empty(), "its parts are deleted");
        assert_eq!(
            code(store.abort_multipart_upload(abort("k", &id)).await),
            "NoSuchUpload"
        );
        assert_eq!(
            code(upload_part(&store, "k", &id, 2, b"late").await),
            "NoSuchUpload"
        );
        for bad in ["", "../../etc", "0123456789abcdef0123456789ABCDEF", "x"] {
            assert_eq!(
                code(store.abort_multipart_upload(abort("k", bad)).await),
                "NoSuchUpload",
                "{bad:?}"
            );
        }
    }

    #[tokio::test]
    async fn open_uploads_are_listed_by_key_and_paged() {
        let (_dir, store) = store();
        let mut ids = vec![
            ("a/1.bin".to_owned(), create_upload(&store, "a/1.bin").await),
            ("b.bin".to_owned(), create_upload(&store, "b.bin").await),
            ("b.bin".to_owned(), create_upload(&store, "b.bin").await),
        ];
        ids.sort();
        let list = |prefix: Option<&str>, max: Option<i32>, markers: Option<(String, String)>| {
            let (key_marker, upload_id_marker) = markers.unzip();
            request(ListMultipartUploadsInput {
                bucket: BUCKET.into(),
                prefix: prefix.map(str::to_owned),
                max_uploads: max,
                key_marker,
                upload_id_marker,
                ..Default::default()
            })
        };
        let keys_and_ids = |output: &ListMultipartUploadsOutput| -> Vec<(String, String)> {
            output
                .uploads
                .iter()
                .flatten()
                .map(|upload| {
                    assert!(upload.initiated.is_some());
                    (
                        upload.key.clone().unwrap_or_default(),
                        upload.upload_id.clone().unwrap_or_default(),
                    )
                })
                .collect()
        };
        let all = store
            .list_multipart_uploads(list(None, None, None))
            .await
            .expect("listed")
            .output;
        assert_eq!(keys_and_ids(&all), ids);
        assert_eq!(all.is_truncated, Some(false));
        let under_a = store
            .list_multipart_uploads(list(Some("a/"), None, None))
            .await
            .expect("listed")
            .output;
        assert_eq!(keys_and_ids(&under_a), ids[..1]);

        let mut paged = Vec::new();
        let mut markers = None;
        for _ in 0..10 {
            let page = store
                .list_multipart_uploads(list(None, Some(1), markers.clone()))
                .await
                .expect("listed")
                .output;
            paged.extend(keys_and_ids(&page));
            if page.is_truncated != Some(true) {
                break;
            }
            markers = page.next_key_marker.zip(page.next_upload_id_marker);
        }
        assert_eq!(paged, ids);

        let mut input = list(None, None, None).input;
        input.bucket = "no-such-bucket".into();
        assert_eq!(
            code(store.list_multipart_uploads(request(input)).await),
            "NoSuchBucket"
        );
    }
}
