//! The entry's [`Services`] with the counter and the uploader called as
//! Rust functions, not through component imports.

use counter::bindings::exports::edgeplug::worker::counter::Guest as CounterGuest;
use entry::app::{ConfigError, Services};
use entry::bindings::edgeplug::worker::types::Error as WitError;
use entry::bindings::edgeplug::worker::uploader::{
    ObjectInfo, PostPolicyOptions, PresignedPost, PresignedRequest, PutOptions,
};
use entry::bindings::wasi::config::store as config_store;
use entry::bindings::wasi::http::types::IncomingRequest;
use uploader::exports::edgeplug::worker::uploader::Guest as UploaderGuest;

use crate::convert;

/// [`Services`] over the counter's and uploader's code in this same
/// component, holding the request for its body.
pub struct Direct {
    request: IncomingRequest,
}

impl Direct {
    /// Wraps the request whose body [`Services::put_body`] will stream.
    pub fn new(request: IncomingRequest) -> Self {
        Self { request }
    }
}

impl Services for Direct {
    fn increment(&mut self, name: &str, delta: u64) -> Result<u64, WitError> {
        counter::Component::increment(name.to_owned(), delta).map_err(convert::counter_error)
    }

    fn get(&mut self, name: &str) -> Result<u64, WitError> {
        counter::Component::get(name.to_owned()).map_err(convert::counter_error)
    }

    fn config(&mut self, key: &str) -> Result<Option<String>, ConfigError> {
        config_store::get(key).map_err(|err| {
            ConfigError(match err {
                config_store::Error::Upstream(msg) | config_store::Error::Io(msg) => msg,
            })
        })
    }

    fn put_body(&mut self, key: &str, opts: PutOptions) -> Result<ObjectInfo, WitError> {
        let body = self
            .request
            .consume()
            .map_err(|()| WitError::Internal("the request body was already consumed".into()))?;
        // The uploader owns the body: it reads it, finishes it and checks
        // its trailers, so a cut-off body never becomes an object.
        uploader::Component::put(
            key.to_owned(),
            convert::incoming_body(body),
            convert::put_options(opts),
        )
        .map(convert::object_info)
        .map_err(convert::uploader_error)
    }

    fn presign_put(
        &mut self,
        key: &str,
        expires_in_secs: u32,
        opts: PutOptions,
    ) -> Result<PresignedRequest, WitError> {
        uploader::Component::presign_put(
            key.to_owned(),
            expires_in_secs,
            convert::put_options(opts),
        )
        .map(convert::presigned_request)
        .map_err(convert::uploader_error)
    }

    fn presign_post(
        &mut self,
        opts: PostPolicyOptions,
        expires_in_secs: u32,
    ) -> Result<PresignedPost, WitError> {
        uploader::Component::presign_post(convert::post_policy_options(opts), expires_in_secs)
            .map(convert::presigned_post)
            .map_err(convert::uploader_error)
    }
}
