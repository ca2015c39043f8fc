//! Between the entry's view of `edgeplug:worker` (its imports) and the
//! counter's and uploader's (their exports): the same WIT types, generated
//! once per crate, so each crossing is a field-by-field move.

use entry::bindings::edgeplug::worker::types::{Error, UpstreamError};
use entry::bindings::edgeplug::worker::uploader::{
    ObjectInfo, PostPolicyOptions, PresignedPost, PresignedRequest, PutOptions,
};
use entry::bindings::wasi::http::types::IncomingBody;

use counter::bindings::exports::edgeplug::worker::types as counter_types;
use uploader::exports::edgeplug::worker::types as uploader_types;
use uploader::exports::edgeplug::worker::uploader as uploader_api;

/// The counter's error as the entry's.
pub fn counter_error(err: counter_types::Error) -> Error {
    match err {
        counter_types::Error::InvalidInput(m) => Error::InvalidInput(m),
        counter_types::Error::Unauthorized(m) => Error::Unauthorized(m),
        counter_types::Error::TooLarge(limit) => Error::TooLarge(limit),
        counter_types::Error::Unavailable(m) => Error::Unavailable(m),
        counter_types::Error::Upstream(e) => Error::Upstream(UpstreamError {
            status: e.status,
            code: e.code,
            message: e.message,
        }),
        counter_types::Error::Internal(m) => Error::Internal(m),
    }
}

/// The uploader's error as the entry's.
pub fn uploader_error(err: uploader_types::Error) -> Error {
    match err {
        uploader_types::Error::InvalidInput(m) => Error::InvalidInput(m),
        uploader_types::Error::Unauthorized(m) => Error::Unauthorized(m),
        uploader_types::Error::TooLarge(limit) => Error::TooLarge(limit),
        uploader_types::Error::Unavailable(m) => Error::Unavailable(m),
        uploader_types::Error::Upstream(e) => Error::Upstream(UpstreamError {
            status: e.status,
            code: e.code,
            message: e.message,
        }),
        uploader_types::Error::Internal(m) => Error::Internal(m),
    }
}

/// The entry's upload options as the uploader's.
pub fn put_options(opts: PutOptions) -> uploader_api::PutOptions {
    uploader_api::PutOptions {
        content_type: opts.content_type,
        content_length: opts.content_length,
        max_length: opts.max_length,
    }
}

/// The uploader's answer as the entry's.
pub fn object_info(info: uploader_api::ObjectInfo) -> ObjectInfo {
    ObjectInfo {
        key: info.key,
        size: info.size,
        etag: info.etag,
        checksum_sha256: info.checksum_sha256,
    }
}

/// The uploader's presigned request as the entry's.
pub fn presigned_request(presigned: uploader_api::PresignedRequest) -> PresignedRequest {
    PresignedRequest {
        url: presigned.url,
        method: presigned.method,
        expires_at: presigned.expires_at,
        headers: presigned.headers,
    }
}

/// The entry's POST policy options as the uploader's.
pub fn post_policy_options(opts: PostPolicyOptions) -> uploader_api::PostPolicyOptions {
    uploader_api::PostPolicyOptions {
        key: opts.key,
        key_is_prefix: opts.key_is_prefix,
        content_type: opts.content_type,
        min_length: opts.min_length,
        max_length: opts.max_length,
    }
}

/// The uploader's presigned POST as the entry's.
pub fn presigned_post(post: uploader_api::PresignedPost) -> PresignedPost {
    PresignedPost {
        url: post.url,
        fields: post.fields,
        expires_at: post.expires_at,
    }
}

/// The request body, as the uploader's bindings type it. Both types stand
/// for the same `wasi:http/types.incoming-body` import of this one
/// component; ownership of the handle moves, so exactly one of them drops
/// it.
pub fn incoming_body(body: IncomingBody) -> uploader::wasi::http::types::IncomingBody {
    // SAFETY: `take_handle` gives up `body`'s ownership of a live handle of
    // this same resource type, which the new value then owns alone.
    unsafe { uploader::wasi::http::types::IncomingBody::from_handle(body.take_handle()) }
}
