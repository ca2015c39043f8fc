//! [`Transport`] over `wasi:http/outgoing-handler` and the monotonic clock:
//! the only module that talks to the network. Host details (addresses, a
//! host's internal messages) go to stderr, not into errors.

use crate::bindings::wasi::clocks::monotonic_clock;
use crate::bindings::wasi::http::outgoing_handler;
use crate::bindings::wasi::http::types::{
    ErrorCode, Fields, FutureIncomingResponse, IncomingResponse, Method, OutgoingBody,
    OutgoingRequest, RequestOptions, Scheme as HttpScheme,
};
use crate::bindings::wasi::io::streams::{OutputStream, StreamError};
use crate::config::Scheme;
use crate::transport::{
    HttpRequest, HttpResponse, MAX_ANSWER_BYTES, Transport, TransportError, append_capped,
};

/// How much of the answer is asked for per read.
const READ_CHUNK: u64 = 64 * 1024;

/// The `wasi:http` transport. It holds nothing: every request carries its
/// endpoint and timeouts.
pub struct WasiHttp;

impl Transport for WasiHttp {
    fn post(&mut self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        send(request)
    }

    fn sleep_ms(&mut self, ms: u64) {
        if ms > 0 {
            monotonic_clock::subscribe_duration(ms.saturating_mul(1_000_000)).block();
        }
    }
}

/// Whether a request that failed with `code` may have reached the
/// endpoint. Only the failures that happen before a byte of the request
/// can have been sent say no: name resolution, connecting, the TLS
/// certificate, and the host's own refusals.
pub fn may_have_reached(code: &ErrorCode) -> bool {
    !matches!(
        code,
        ErrorCode::DnsTimeout
            | ErrorCode::DnsError(_)
            | ErrorCode::DestinationNotFound
            | ErrorCode::DestinationUnavailable
            | ErrorCode::DestinationIpProhibited
            | ErrorCode::DestinationIpUnroutable
            | ErrorCode::ConnectionRefused
            | ErrorCode::ConnectionTimeout
            | ErrorCode::TlsCertificateError
            | ErrorCode::HttpRequestDenied
            | ErrorCode::HttpRequestMethodInvalid
            | ErrorCode::HttpRequestUriInvalid
            | ErrorCode::ConfigurationError
    )
}

/// The name of `code` without its payload.
pub fn code_name(code: &ErrorCode) -> String {
    let debug = format!("{code:?}");
    let name = debug.strip_prefix("ErrorCode::").unwrap_or(&debug);
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn failed(what: &str, code: &ErrorCode) -> TransportError {
    eprintln!("edgeplug redis-rest-kv: {what}: {code:?}");
    TransportError::Failed {
        detail: format!("{what}: {}", code_name(code)),
        may_have_reached: may_have_reached(code),
    }
}

/// A step of building the request failed: nothing was sent.
fn unsent(what: &str) -> TransportError {
    TransportError::Failed {
        detail: format!("{what} failed"),
        may_have_reached: false,
    }
}

/// A failure after the request was handed over.
fn broken(what: &str) -> TransportError {
    TransportError::Failed {
        detail: format!("{what} failed"),
        may_have_reached: true,
    }
}

/// The request options carrying `timeout_ms` for connecting, the first
/// byte and between bytes. A host may refuse one (it then keeps its own):
/// that is not an error.
fn request_options(timeout_ms: u64) -> RequestOptions {
    let ns = timeout_ms.saturating_mul(1_000_000);
    let options = RequestOptions::new();
    let _ = options.set_connect_timeout(Some(ns));
    let _ = options.set_first_byte_timeout(Some(ns));
    let _ = options.set_between_bytes_timeout(Some(ns));
    options
}

fn send(request: &HttpRequest) -> Result<HttpResponse, TransportError> {
    let mut entries: Vec<(String, Vec<u8>)> = request
        .headers
        .iter()
        .map(|(name, value)| ((*name).to_owned(), value.clone().into_bytes()))
        .collect();
    entries.push((
        "Content-Length".to_owned(),
        request.body.len().to_string().into_bytes(),
    ));
    let headers = Fields::from_list(&entries).map_err(|_| unsent("building the headers"))?;
    let outgoing = OutgoingRequest::new(headers);
    let scheme = match request.scheme {
        Scheme::Http => HttpScheme::Http,
        Scheme::Https => HttpScheme::Https,
    };
    outgoing
        .set_method(&Method::Post)
        .map_err(|()| unsent("setting the method"))?;
    outgoing
        .set_scheme(Some(&scheme))
        .map_err(|()| unsent("setting the scheme"))?;
    outgoing
        .set_authority(Some(&request.authority))
        .map_err(|()| unsent("setting the authority"))?;
    outgoing
        .set_path_with_query(Some(&request.path))
        .map_err(|()| unsent("setting the path"))?;
    let outgoing_body = outgoing.body().map_err(|()| unsent("opening the body"))?;
    let output = outgoing_body
        .write()
        .map_err(|()| unsent("opening the body stream"))?;

    let future = outgoing_handler::handle(outgoing, Some(request_options(request.timeout_ms)))
        .map_err(|code| failed("sending the request", &code))?;

    if write_all(&output, &request.body).is_err() {
        // Dropping the body without `finish` ends the request early; the
        // answer (or its absence) says what happened.
        drop(output);
        drop(outgoing_body);
        let response = wait(&future)?;
        return read_response(response);
    }
    drop(output);
    OutgoingBody::finish(outgoing_body, None)
        .map_err(|code| failed("finishing the request body", &code))?;
    let response = wait(&future)?;
    read_response(response)
}

/// Writes `data` whole, as fast as the host takes it.
fn write_all(output: &OutputStream, mut data: &[u8]) -> Result<(), StreamError> {
    while !data.is_empty() {
        let permitted = output.check_write()?;
        if permitted == 0 {
            output.subscribe().block();
            continue;
        }
        let n = data
            .len()
            .min(usize::try_from(permitted).unwrap_or(usize::MAX));
        output.write(&data[..n])?;
        data = &data[n..];
    }
    output.blocking_flush()
}

/// Blocks until the endpoint answers (or the host gives up).
fn wait(future: &FutureIncomingResponse) -> Result<IncomingResponse, TransportError> {
    loop {
        match future.get() {
            Some(Ok(Ok(response))) => return Ok(response),
            Some(Ok(Err(code))) => return Err(failed("waiting for the answer", &code)),
            // Only if the response was already taken: a bug here.
            Some(Err(())) => return Err(broken("taking the answer")),
            None => future.subscribe().block(),
        }
    }
}

/// The status and the whole body, at most [`MAX_ANSWER_BYTES`]. A body that
/// breaks off is a lost answer, not a short one.
fn read_response(response: IncomingResponse) -> Result<HttpResponse, TransportError> {
    let status = response.status();
    let body = response
        .consume()
        .map_err(|()| broken("taking the answer's body"))?;
    let stream = body
        .stream()
        .map_err(|()| broken("taking the answer's body stream"))?;
    let mut bytes = Vec::new();
    let outcome = loop {
        match stream.blocking_read(READ_CHUNK) {
            Ok(chunk) => {
                if let Err(error) = append_capped(&mut bytes, &chunk, MAX_ANSWER_BYTES) {
                    break Err(error);
                }
            }
            Err(StreamError::Closed) => break Ok(()),
            Err(StreamError::LastOperationFailed(e)) => {
                eprintln!(
                    "edgeplug redis-rest-kv: reading the answer failed: {}",
                    e.to_debug_string()
                );
                break Err(broken("reading the answer"));
            }
        }
    };
    // The stream is a child of the body: it must go first.
    drop(stream);
    drop(body);
    outcome.map(|()| HttpResponse {
        status,
        body: bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_named_without_their_details() {
        assert_eq!(
            code_name(&ErrorCode::ConnectionTerminated),
            "ConnectionTerminated"
        );
        assert_eq!(
            code_name(&ErrorCode::InternalError(Some("10.0.0.7 said no".into()))),
            "InternalError"
        );
    }

    #[test]
    fn only_failures_before_sending_are_known_not_to_have_reached() {
        for code in [
            ErrorCode::ConnectionRefused,
            ErrorCode::DnsTimeout,
            ErrorCode::DestinationNotFound,
            ErrorCode::ConnectionTimeout,
        ] {
            assert!(!may_have_reached(&code), "{code:?}");
        }
        for code in [
            ErrorCode::ConnectionTerminated,
            ErrorCode::ConnectionReadTimeout,
            ErrorCode::HttpResponseTimeout,
            ErrorCode::HttpResponseIncomplete,
            ErrorCode::InternalError(None),
        ] {
            assert!(may_have_reached(&code), "{code:?}");
        }
    }
}
