//! Everything that talks to the WASI host: the configuration store, the
//! outgoing HTTP request and the streams. The decisions are made in the
//! plain modules; this file only moves values between them and the host.

use std::time::SystemTime;

use crate::config::{Config, Scheme};
use crate::error::Error;
use crate::request::{PresignInput, PutInput, PutRequest};
use crate::s3_error::{self, MAX_ERROR_BODY};
use crate::transfer::{self, Pipe, StreamFault, TransferError};
use crate::wasi::config::store;
use crate::wasi::http::outgoing_handler;
use crate::wasi::http::types::{
    ErrorCode, Fields, FutureIncomingResponse, IncomingResponse, Method, OutgoingBody,
    OutgoingRequest, Scheme as HttpScheme,
};
use crate::wasi::io::streams::{InputStream, OutputStream, StreamError};

/// What a successful `put` stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Bytes sent.
    pub size: u64,
    /// The store's ETag, without quotes.
    pub etag: String,
}

/// Reads the configuration from `wasi:config/store`.
fn load_config() -> Result<Config, Error> {
    let config = Config::from_lookup(|key| {
        store::get(key).map_err(|err| match err {
            store::Error::Upstream(m) => format!("upstream error: {m}"),
            store::Error::Io(m) => format!("I/O error: {m}"),
        })
    })?;
    Ok(config)
}

/// Streams `body` (exactly `content_length` bytes) into the object `key`.
pub fn put(
    key: &str,
    body: &InputStream,
    content_type: Option<&str>,
    content_length: Option<u64>,
) -> Result<Stored, Error> {
    let input = PutInput::check(key, content_type, content_length)?;
    let config = load_config()?;
    let secrets = config.secrets();
    input
        .sign(&config, SystemTime::now())
        .and_then(|request| send(&request, body, &secrets))
        .map_err(|err| err.scrub(&secrets))
}

/// Returns a presigned `PUT` URL for `key`.
pub fn presign_put(
    key: &str,
    expires_in_secs: u32,
    content_type: Option<&str>,
) -> Result<String, Error> {
    let input = PresignInput::check(key, expires_in_secs, content_type)?;
    let config = load_config()?;
    input
        .presign(&config, SystemTime::now())
        .map_err(|err| err.scrub(&config.secrets()))
}

fn internal(what: &str) -> Error {
    Error::Internal(format!("{what} failed"))
}

fn unavailable(what: &str, code: &ErrorCode) -> Error {
    Error::Unavailable(format!("{what} failed: {code:?}"))
}

/// Sends the signed request, streaming `body` into it, and reads the answer.
fn send(request: &PutRequest, body: &InputStream, secrets: &[&str]) -> Result<Stored, Error> {
    let entries: Vec<(String, Vec<u8>)> = request
        .headers
        .iter()
        .map(|(name, value)| (name.clone(), value.clone().into_bytes()))
        .collect();
    let headers = Fields::from_list(&entries)
        .map_err(|e| Error::Internal(format!("building the request headers failed: {e:?}")))?;
    let outgoing = OutgoingRequest::new(headers);
    let scheme = match request.url.scheme {
        Scheme::Http => HttpScheme::Http,
        Scheme::Https => HttpScheme::Https,
    };
    outgoing
        .set_method(&Method::Put)
        .map_err(|()| internal("setting the request method"))?;
    outgoing
        .set_scheme(Some(&scheme))
        .map_err(|()| internal("setting the request scheme"))?;
    outgoing
        .set_authority(Some(&request.url.authority))
        .map_err(|()| internal("setting the request authority"))?;
    outgoing
        .set_path_with_query(Some(&request.url.path))
        .map_err(|()| internal("setting the request path"))?;
    let outgoing_body = outgoing
        .body()
        .map_err(|()| internal("opening the request body"))?;
    let output = outgoing_body
        .write()
        .map_err(|()| internal("opening the request body stream"))?;

    // Handed over before the body is written, so that the host is already
    // sending while we splice: the body never has to fit anywhere.
    let future = outgoing_handler::handle(outgoing, None)
        .map_err(|code| unavailable("sending the request to the store", &code))?;

    let mut pipe = WasiPipe {
        body,
        output: &output,
    };
    let pumped = transfer::pump(&mut pipe, request.content_length).and_then(|moved| {
        output
            .blocking_flush()
            .map(|()| moved)
            .map_err(|_| TransferError::RequestClosed { moved })
    });
    let moved = match pumped {
        Ok(moved) => moved,
        Err(err) => {
            // Dropping the body without `finish` aborts the request, so the
            // store never keeps a partial object.
            drop(output);
            drop(outgoing_body);
            return Err(match err {
                // The store may have refused the request before reading it
                // all; its answer says more than "connection closed".
                TransferError::RequestClosed { .. } => match wait(&future) {
                    Ok(response) if !is_success(response.status()) => refusal(response, secrets),
                    Ok(_) => err.into(),
                    Err(waited) => waited,
                },
                _ => err.into(),
            });
        }
    };
    drop(output);
    OutgoingBody::finish(outgoing_body, None)
        .map_err(|code| unavailable("finishing the request body", &code))?;

    let response = wait(&future)?;
    let status = response.status();
    if !is_success(status) {
        return Err(refusal(response, secrets));
    }
    let etag = response.headers().get("etag").into_iter().next();
    Ok(Stored {
        size: moved,
        etag: transfer::etag(etag.as_deref()),
    })
}

fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// Blocks until the store answers (or the host gives up).
fn wait(future: &FutureIncomingResponse) -> Result<IncomingResponse, Error> {
    loop {
        match future.get() {
            Some(Ok(Ok(response))) => return Ok(response),
            Some(Ok(Err(code))) => {
                return Err(unavailable("waiting for the store's answer", &code));
            }
            // Only if the response was already taken: a bug here.
            Some(Err(())) => return Err(internal("taking the store's answer")),
            None => future.subscribe().block(),
        }
    }
}

/// Turns a non-2xx answer into an upstream error, reading at most
/// [`MAX_ERROR_BODY`] bytes of its body.
fn refusal(response: IncomingResponse, secrets: &[&str]) -> Error {
    let status = response.status();
    let body = read_capped(&response);
    s3_error::upstream_error(status, &body, secrets)
}

fn read_capped(response: &IncomingResponse) -> Vec<u8> {
    let mut bytes = Vec::new();
    let Ok(body) = response.consume() else {
        return bytes;
    };
    let Ok(stream) = body.stream() else {
        return bytes;
    };
    // An empty read is allowed but should not repeat; bound the loop anyway.
    for _ in 0..MAX_ERROR_BODY {
        let room = MAX_ERROR_BODY.saturating_sub(bytes.len());
        if room == 0 {
            break;
        }
        match stream.blocking_read(room as u64) {
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            // End of body or a failure: either way, use what arrived.
            Err(_) => break,
        }
    }
    // The stream is a child of the body: it must go first.
    drop(stream);
    drop(body);
    bytes
}

/// [`Pipe`] over `wasi:io` streams: splices move bytes host-side.
struct WasiPipe<'a> {
    body: &'a InputStream,
    output: &'a OutputStream,
}

fn fault(err: StreamError) -> StreamFault {
    match err {
        StreamError::Closed => StreamFault::Closed,
        StreamError::LastOperationFailed(e) => StreamFault::Failed(e.to_debug_string()),
    }
}

impl Pipe for WasiPipe<'_> {
    fn splice(&mut self, max: u64) -> Result<u64, StreamFault> {
        self.output.blocking_splice(self.body, max).map_err(fault)
    }

    fn request_is_open(&mut self) -> bool {
        // A failed or closed output stream stays closed (wasi:io).
        self.output.check_write().is_ok()
    }

    fn body_has_more(&mut self) -> Result<bool, StreamFault> {
        // A blocking read returns at least one byte or ends; an empty
        // answer is tolerated a bounded number of times.
        for _ in 0..1000 {
            match self.body.blocking_read(1) {
                Ok(byte) if byte.is_empty() => continue,
                Ok(_) => return Ok(true),
                Err(err) => return Err(fault(err)),
            }
        }
        Err(StreamFault::Failed(
            "the body stream kept answering with nothing".into(),
        ))
    }
}
