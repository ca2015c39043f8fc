//! What is kept beside an object (its metadata file), and what is known of
//! an object found: the metadata while it still describes the file, else
//! the file's MD5 as its ETag.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read as _, Seek as _};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use s3s::S3Result;
use s3s::crypto::{Checksum as _, Md5};
use s3s::dto::Timestamp;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::checksums::Checksums;
use super::errors::{internal, is_not_found};
use super::keys::ObjectPaths;
use super::{FileStore, READ_CHUNK};

/// A modification or creation time, as kept in JSON.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Stamp {
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

    pub(super) fn now() -> Self {
        Self::of(SystemTime::now())
    }

    /// When a file was last written.
    pub(super) fn modified(meta: &fs::Metadata) -> Self {
        Self::of(meta.modified().unwrap_or(UNIX_EPOCH))
    }

    fn time(self) -> SystemTime {
        UNIX_EPOCH
            .checked_add(Duration::new(self.secs, self.nanos))
            .unwrap_or(UNIX_EPOCH)
    }

    /// As S3 reports it; whole seconds when `truncate`, as HTTP dates carry
    /// it.
    pub(super) fn timestamp(self, truncate: bool) -> Timestamp {
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

/// Content headers kept with an object and given back on `GET`/`HEAD`.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub(super) struct Attributes {
    pub(super) content_type: Option<String>,
    pub(super) content_encoding: Option<String>,
    pub(super) content_disposition: Option<String>,
    pub(super) content_language: Option<String>,
    pub(super) cache_control: Option<String>,
    pub(super) expires: Option<Timestamp>,
    pub(super) website_redirect_location: Option<String>,
    pub(super) metadata: Option<HashMap<String, String>>,
}

/// The [`Attributes`] fields of an S3 input.
macro_rules! attributes_of {
    ($input:expr) => {
        $crate::s3::store::meta::Attributes {
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
        let attributes: $crate::s3::store::meta::Attributes = $attributes;
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
pub(super) use {attributes_of, set_attributes};

/// An object's metadata, valid while its file has `size` and `modified`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct ObjectMeta {
    pub(super) key: String,
    pub(super) size: u64,
    pub(super) modified: Stamp,
    pub(super) etag: String,
    #[serde(default)]
    pub(super) attributes: Attributes,
    #[serde(default)]
    pub(super) checksums: Checksums,
    #[serde(default)]
    pub(super) parts: Option<usize>,
}

impl ObjectMeta {
    /// Whether this still describes `key`'s file, as it is now (`stat`).
    pub(super) fn describes(&self, key: &str, stat: &fs::Metadata) -> bool {
        self.key == key && self.size == stat.len() && self.modified == Stamp::modified(stat)
    }
}

/// Reads a JSON file; `None` when there is none.
pub(super) fn read_json<T: DeserializeOwned>(path: &Path) -> io::Result<Option<T>> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The MD5 of a file from its start, the file left at its start again.
pub(super) fn md5_of(file: &mut fs::File) -> io::Result<[u8; 16]> {
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

/// An object found: its file open, and what is known of it.
pub(super) struct Found {
    pub(super) file: fs::File,
    pub(super) size: u64,
    pub(super) modified: Stamp,
    pub(super) etag: String,
    meta: Option<ObjectMeta>,
}

impl Found {
    pub(super) fn attributes(&self) -> Attributes {
        self.meta
            .as_ref()
            .map(|meta| meta.attributes.clone())
            .unwrap_or_default()
    }

    pub(super) fn checksums(&self) -> Checksums {
        self.meta
            .as_ref()
            .map(|meta| meta.checksums.clone())
            .unwrap_or_default()
    }

    /// How many parts it was uploaded in, when it was a multipart upload.
    pub(super) fn parts_count(&self) -> Option<i32> {
        self.meta
            .as_ref()
            .and_then(|meta| meta.parts)
            .and_then(|n| i32::try_from(n).ok())
    }
}

impl FileStore {
    /// Opens an object and reads its metadata; the caller holds the lock.
    /// `None` when there is no such object.
    pub(super) fn open_locked(
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
    pub(super) fn find(&self, paths: &ObjectPaths) -> S3Result<Option<Found>> {
        let opened = {
            let _visible = self.lock();
            self.open_locked(paths)?
        };
        let Some((file, stat, meta)) = opened else {
            return Ok(None);
        };
        Self::describe(&paths.key, file, &stat, meta).map(Some)
    }

    pub(super) fn describe(
        key: &str,
        mut file: fs::File,
        stat: &fs::Metadata,
        meta: Option<ObjectMeta>,
    ) -> S3Result<Found> {
        let meta = meta.filter(|m| m.describes(key, stat));
        let etag = match &meta {
            Some(meta) => meta.etag.clone(),
            None => {
                hex::encode(md5_of(&mut file).map_err(|e| internal("cannot read the object", e))?)
            }
        };
        Ok(Found {
            file,
            size: stat.len(),
            modified: Stamp::modified(stat),
            etag,
            meta,
        })
    }
}
