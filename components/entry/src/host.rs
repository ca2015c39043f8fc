//! The only module that calls imports: reading the request head, the
//! [`Services`] over `counter`, `uploader` and `wasi:config`, and writing
//! a [`Reply`] out through `wasi:http`.

use crate::app::{ConfigError, RequestHead, Services};
use crate::bindings::edgeplug::worker::types::Error as WitError;
use crate::bindings::edgeplug::worker::{counter, uploader};
use crate::bindings::wasi::config::store as config_store;
use crate::bindings::wasi::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};
use crate::response::{MAX_CHUNK, Reply};

/// Reads what routing and the upload checks need from `request`.
pub fn read_head(request: &IncomingRequest) -> RequestHead {
    let headers = request.headers();
    RequestHead {
        method: method_name(request.method()),
        path_with_query: request.path_with_query().unwrap_or_else(|| "/".to_owned()),
        content_length: headers.get("content-length"),
        content_type: headers.get("content-type"),
        authorization: headers.get("authorization"),
    }
}

fn method_name(method: Method) -> String {
    match method {
        Method::Get => "GET".to_owned(),
        Method::Head => "HEAD".to_owned(),
        Method::Post => "POST".to_owned(),
        Method::Put => "PUT".to_owned(),
        Method::Delete => "DELETE".to_owned(),
        Method::Connect => "CONNECT".to_owned(),
        Method::Options => "OPTIONS".to_owned(),
        Method::Trace => "TRACE".to_owned(),
        Method::Patch => "PATCH".to_owned(),
        Method::Other(other) => other,
    }
}

/// [`Services`] over the real imports, holding the request for its body.
pub struct WasiServices {
    request: IncomingRequest,
}

impl WasiServices {
    /// Wraps the request whose body [`Services::put_body`] will stream.
    pub fn new(request: IncomingRequest) -> Self {
        Self { request }
    }
}

impl Services for WasiServices {
    fn increment(&mut self, name: &str, delta: u64) -> Result<u64, WitError> {
        counter::increment(name, delta)
    }

    fn get(&mut self, name: &str) -> Result<u64, WitError> {
        counter::get(name)
    }

    fn config(&mut self, key: &str) -> Result<Option<String>, ConfigError> {
        config_store::get(key).map_err(|err| {
            ConfigError(match err {
                config_store::Error::Upstream(msg) | config_store::Error::Io(msg) => msg,
            })
        })
    }

    fn put_body(
        &mut self,
        key: &str,
        opts: uploader::PutOptions,
    ) -> Result<uploader::ObjectInfo, WitError> {
        let body = self
            .request
            .consume()
            .map_err(|()| WitError::Internal("the request body was already consumed".into()))?;
        // The uploader owns the body from here: it reads the stream, then
        // finishes the body to learn whether the client sent all of it.
        uploader::put(key, body, &opts)
    }

    fn presign_put(
        &mut self,
        key: &str,
        expires_in_secs: u32,
        opts: uploader::PutOptions,
    ) -> Result<uploader::PresignedRequest, WitError> {
        uploader::presign_put(key, expires_in_secs, &opts)
    }

    fn presign_post(
        &mut self,
        opts: uploader::PostPolicyOptions,
        expires_in_secs: u32,
    ) -> Result<uploader::PresignedPost, WitError> {
        uploader::presign_post(&opts, expires_in_secs)
    }
}

/// Sends `reply`. Once the head is set nothing can be reported any more, so
/// write errors end the body early and are otherwise ignored.
pub fn write_reply(out: ResponseOutparam, reply: Reply) {
    let headers = Fields::new();
    for (name, value) in &reply.headers {
        // Our header names and values are valid; a host refusing one (for
        // example a forbidden header) should not cost the whole answer.
        let _ = headers.append(name, value);
    }
    let response = OutgoingResponse::new(headers);
    let _ = response.set_status_code(reply.status);
    let body = response.body();
    ResponseOutparam::set(out, Ok(response));
    let Ok(body) = body else { return };
    if let Ok(stream) = body.write() {
        for chunk in reply.body.chunks(MAX_CHUNK) {
            if stream.blocking_write_and_flush(chunk).is_err() {
                break;
            }
        }
        // The stream is a child of the body: drop it before finishing.
        drop(stream);
    }
    let _ = OutgoingBody::finish(body, None);
}
