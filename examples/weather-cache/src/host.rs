//! The only module that calls imports: config, the key-value store, the
//! clock, outgoing HTTP, and writing the answer through `wasi:http`.

use crate::bindings::wasi::clocks::wall_clock;
use crate::bindings::wasi::config::store as config;
use crate::bindings::wasi::http::outgoing_handler;
use crate::bindings::wasi::http::types::{
    Fields, FutureIncomingResponse, IncomingRequest, IncomingResponse, Method, OutgoingBody,
    OutgoingRequest, OutgoingResponse, ResponseOutparam, Scheme as HttpScheme,
};
use crate::bindings::wasi::keyvalue::store as kv;
use crate::reply::Reply;
use crate::service::{Cache, Fetched, MAX_BODY_BYTES, Upstream};
use crate::settings::{Scheme, Settings, SettingsError, UpstreamUrl};

/// `wasi:io` accepts at most 4 KiB per blocking write.
const MAX_CHUNK: usize = 4096;

/// The request's method as text, and its path and query (`/` if none).
pub fn method_and_path(request: &IncomingRequest) -> (String, String) {
    let method = match request.method() {
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
    };
    let path = request.path_with_query().unwrap_or_else(|| "/".to_owned());
    (method, path)
}

/// Reads the settings through `wasi:config/store`.
pub fn settings() -> Result<Settings, SettingsError> {
    Settings::read(|key| {
        config::get(key).map_err(|error| match error {
            config::Error::Upstream(message) | config::Error::Io(message) => message,
        })
    })
}

/// Seconds since the Unix epoch, from `wasi:clocks/wall-clock`.
pub fn now_secs() -> u64 {
    wall_clock::now().seconds
}

fn kv_message(error: kv::Error) -> String {
    match error {
        kv::Error::NoSuchStore => "no such store".to_owned(),
        kv::Error::AccessDenied => "access denied".to_owned(),
        kv::Error::Other(message) => message,
    }
}

/// The cache over the imported `wasi:keyvalue/store`. The bucket is opened
/// on first use and kept for the request; a failed open is remembered, so
/// that one outage costs one failed call, not one per operation.
#[derive(Default)]
pub struct KvCache {
    opened: Option<Result<kv::Bucket, String>>,
}

impl KvCache {
    fn bucket(&mut self, name: &str) -> Result<&kv::Bucket, String> {
        self.opened
            .get_or_insert_with(|| kv::open(name).map_err(kv_message))
            .as_ref()
            .map_err(|error| format!("cannot open bucket {name:?}: {error}"))
    }
}

impl Cache for KvCache {
    fn get(&mut self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, String> {
        self.bucket(bucket)?.get(key).map_err(kv_message)
    }

    fn set(&mut self, bucket: &str, key: &str, value: &[u8]) -> Result<(), String> {
        self.bucket(bucket)?.set(key, value).map_err(kv_message)
    }
}

/// The weather API over the imported `wasi:http/outgoing-handler`.
pub struct HttpUpstream;

impl Upstream for HttpUpstream {
    fn get(&mut self, url: &UpstreamUrl, path_and_query: &str) -> Result<Fetched, String> {
        let headers = Fields::new();
        // Our own constant: the host has no reason to refuse it.
        let _ = headers.append("accept", b"application/json");
        let request = OutgoingRequest::new(headers);
        let scheme = match url.scheme {
            Scheme::Http => HttpScheme::Http,
            Scheme::Https => HttpScheme::Https,
        };
        request
            .set_scheme(Some(&scheme))
            .map_err(|()| "the host refused the scheme".to_owned())?;
        request
            .set_authority(Some(&url.authority))
            .map_err(|()| format!("the host refused the authority {:?}", url.authority))?;
        request
            .set_path_with_query(Some(path_and_query))
            .map_err(|()| format!("the host refused the path {path_and_query:?}"))?;
        let body = request
            .body()
            .map_err(|()| "cannot open the request body".to_owned())?;
        let future = outgoing_handler::handle(request, None)
            .map_err(|code| format!("cannot send: {code:?}"))?;
        // A GET has no body: finishing it at once lets the request go.
        OutgoingBody::finish(body, None).map_err(|code| format!("cannot send: {code:?}"))?;
        let response = wait(&future)?;
        let content_type = response
            .headers()
            .get("content-type")
            .into_iter()
            .next()
            .and_then(|value| String::from_utf8(value).ok());
        Ok(Fetched {
            status: response.status(),
            content_type,
            body: read_body(response)?,
        })
    }
}

/// Blocks until the upstream answers, or the host gives up on it.
fn wait(future: &FutureIncomingResponse) -> Result<IncomingResponse, String> {
    loop {
        match future.get() {
            Some(Ok(Ok(response))) => return Ok(response),
            Some(Ok(Err(code))) => return Err(format!("{code:?}")),
            // Only if the response was already taken: a bug here.
            Some(Err(())) => return Err("the response was taken twice".to_owned()),
            None => future.subscribe().block(),
        }
    }
}

/// The body, up to one byte past [`MAX_BODY_BYTES`] (so the caller can tell
/// it was too long without this reading a huge body whole).
fn read_body(response: IncomingResponse) -> Result<Vec<u8>, String> {
    use crate::bindings::wasi::io::streams::StreamError;
    let body = response
        .consume()
        .map_err(|()| "cannot read the response body".to_owned())?;
    let stream = body
        .stream()
        .map_err(|()| "cannot read the response body".to_owned())?;
    let mut bytes = Vec::new();
    let result = loop {
        let room = (MAX_BODY_BYTES + 1).saturating_sub(bytes.len());
        if room == 0 {
            break Ok(());
        }
        match stream.blocking_read(room as u64) {
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(StreamError::Closed) => break Ok(()),
            Err(StreamError::LastOperationFailed(error)) => {
                break Err(format!(
                    "the response body failed: {}",
                    error.to_debug_string()
                ));
            }
        }
    };
    // The stream is a child of the body: it must go first.
    drop(stream);
    drop(body);
    drop(response);
    result.map(|()| bytes)
}

/// Sends `reply` as the response.
pub fn write_reply(out: ResponseOutparam, reply: Reply) {
    let headers = Fields::new();
    for (name, value) in &reply.headers {
        // A header the host refuses (say, an odd upstream content type)
        // should not cost the whole answer.
        let _ = headers.append(name, value.as_bytes());
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
