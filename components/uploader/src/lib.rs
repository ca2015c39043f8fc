//! The edgeplug uploader component: streams bodies into S3-compatible
//! storage (one `PUT` for small bodies, multipart for large or chunked
//! ones, with SHA-256 checksums, retries and aborts), presigns `PUT` URLs
//! and browser-form POST policies, signing with SigV4 (`aws-sigv4`). See
//! the crate's README.md.
//!
//! This file is only the WIT glue; the logic lives in the modules below,
//! all of which build and unit-test on the host except `host`, which calls
//! the WASI imports.

wit_bindgen::generate!({
    path: "../../wit",
    world: "edgeplug:worker/uploader-component",
    generate_all,
    // The world's exports are described by `export!` itself, not by the
    // crate: a crate linking this one as a library (bench/monolith) without
    // the `export` feature then exports nothing of it.
    pub_export_macro: true,
});

// Linked for its `write` and `getenv`, which keep wasi-libc's stdio and
// environment (and their imports) out of the component.
extern crate guest_stdio;

pub mod checksum;
pub mod config;
pub mod error;
mod host;
pub mod key;
pub mod multipart;
pub mod object_url;
pub mod plan;
pub mod post_policy;
pub mod request;
pub mod retry;
pub mod s3_error;
pub mod signing;
pub mod transfer;
pub mod upload;
pub mod xml;

use exports::edgeplug::worker::types::{Error as WitError, UpstreamError};
use exports::edgeplug::worker::uploader::{
    Guest, ObjectInfo, PostPolicyOptions, PresignedPost, PresignedRequest, PutOptions,
};
use wasi::http::types::IncomingBody;

use crate::error::Error;

/// The exported component; also what a crate linking this one as a library
/// calls `put` and `presign_put` on.
pub struct Component;

impl Guest for Component {
    fn put(key: String, body: IncomingBody, opts: PutOptions) -> Result<ObjectInfo, WitError> {
        let stored = host::put(
            &key,
            body,
            opts.content_type.as_deref(),
            opts.content_length,
            opts.max_length,
        )?;
        Ok(ObjectInfo {
            key: stored.key,
            size: stored.size,
            etag: stored.etag,
            checksum_sha256: stored.checksum_sha256,
        })
    }

    fn presign_put(
        key: String,
        expires_in_secs: u32,
        opts: PutOptions,
    ) -> Result<PresignedRequest, WitError> {
        let presigned = host::presign_put(
            &key,
            expires_in_secs,
            opts.content_type.as_deref(),
            opts.content_length,
            opts.max_length,
        )?;
        Ok(PresignedRequest {
            url: presigned.url,
            method: "PUT".to_owned(),
            expires_at: presigned.expires_at,
            headers: presigned.headers,
        })
    }

    fn presign_post(
        opts: PostPolicyOptions,
        expires_in_secs: u32,
    ) -> Result<PresignedPost, WitError> {
        let presigned = host::presign_post(
            &opts.key,
            opts.key_is_prefix,
            &opts.content_type,
            opts.min_length,
            opts.max_length,
            expires_in_secs,
        )?;
        Ok(PresignedPost {
            url: presigned.url,
            fields: presigned.fields,
            expires_at: presigned.expires_at,
        })
    }
}

impl From<Error> for WitError {
    fn from(err: Error) -> Self {
        match err {
            Error::InvalidInput(m) => WitError::InvalidInput(m),
            Error::TooLarge(limit) => WitError::TooLarge(limit),
            Error::Unavailable(m) => WitError::Unavailable(m),
            Error::Upstream {
                status,
                code,
                message,
            } => WitError::Upstream(UpstreamError {
                status,
                code,
                message,
            }),
            Error::Internal(m) => WitError::Internal(m),
        }
    }
}

// Only on wasm: the export symbols' names (`edgeplug:worker/...#put`) are
// not valid in a native linker's version script, which breaks the host
// cdylib that `cargo test` links. Only with `export`: a crate using this one
// as a library turns it off.
#[cfg(all(target_arch = "wasm32", feature = "export"))]
export!(Component);
