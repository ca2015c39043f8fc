//! Everything that talks to the WASI host: the configuration store,
//! outgoing HTTP, the body stream, the monotonic clock and randomness. The
//! decisions are made in the plain modules; this file only moves values
//! between them and the host.

use std::time::SystemTime;

use crate::config::{Config, Scheme, Timeouts};
use crate::error::Error;
use crate::post_policy::{PostPolicyInput, PresignedPost};
use crate::request::{Method as S3Method, PresignInput, PresignedPut, PutInput, SignedRequest};
use crate::s3_error::MAX_ERROR_BODY;
use crate::transfer::{Source, StreamFault};
use crate::upload::{self, Fault, Response, Store, Stored};
use crate::wasi::clocks::monotonic_clock;
use crate::wasi::config::store;
use crate::wasi::http::outgoing_handler;
use crate::wasi::http::types::{
    ErrorCode, Fields, FutureIncomingResponse, IncomingBody, IncomingResponse, Method,
    OutgoingBody, OutgoingRequest, RequestOptions, Scheme as HttpScheme,
};
use crate::wasi::io::streams::{InputStream, OutputStream, StreamError};
use crate::wasi::random::random;

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

/// Uploads `body` as `key` (under the configured prefix).
pub fn put(
    key: &str,
    body: IncomingBody,
    content_type: Option<&str>,
    content_length: Option<u64>,
    max_length: Option<u64>,
) -> Result<Stored, Error> {
    // The caller's mistakes first, before the configuration is read.
    let input = PutInput::check(key, content_type, content_length, max_length)?;
    let config = load_config()?;
    let secrets = config.secrets();
    let mut body = WasiBody::new(body)?;
    config
        .object_key(key)
        .and_then(|stored_key| {
            upload::put(
                &mut WasiStore {
                    timeouts: config.timeouts,
                },
                &mut body,
                &config,
                &input,
                &stored_key,
            )
        })
        .map_err(|err| err.scrub(&secrets))
}

/// Presigns a `PUT` of `key` (under the configured prefix).
pub fn presign_put(
    key: &str,
    expires_in_secs: u32,
    content_type: Option<&str>,
    content_length: Option<u64>,
    max_length: Option<u64>,
) -> Result<PresignedPut, Error> {
    let input = PresignInput::check(
        key,
        expires_in_secs,
        content_type,
        content_length,
        max_length,
    )?;
    let config = load_config()?;
    config
        .object_key(input.key())
        .and_then(|stored_key| input.presign(&config, &stored_key, SystemTime::now()))
        .map_err(|err| err.scrub(&config.secrets()))
}

/// Presigns a POST policy for `key` (a folder when `key_is_prefix`), under
/// the configured prefix.
pub fn presign_post(
    key: &str,
    key_is_prefix: bool,
    content_type: &str,
    min_length: u64,
    max_length: u64,
    expires_in_secs: u32,
) -> Result<PresignedPost, Error> {
    let input = PostPolicyInput::check(
        key,
        key_is_prefix,
        content_type,
        min_length,
        max_length,
        expires_in_secs,
    )?;
    let config = load_config()?;
    config
        .object_key(input.key())
        .map(|stored_key| input.presign(&config, &stored_key, SystemTime::now()))
        .map_err(|err| err.scrub(&config.secrets()))
}

/// Whether a request that failed with `code` may succeed if sent again:
/// the connection could not be made or broke, or the answer timed out.
pub(crate) fn transport_is_retryable(code: &ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::DnsTimeout
            | ErrorCode::DestinationUnavailable
            | ErrorCode::ConnectionRefused
            | ErrorCode::ConnectionTerminated
            | ErrorCode::ConnectionTimeout
            | ErrorCode::ConnectionReadTimeout
            | ErrorCode::ConnectionWriteTimeout
            | ErrorCode::ConnectionLimitReached
            | ErrorCode::HttpResponseTimeout
            | ErrorCode::HttpResponseIncomplete
    )
}

/// The name of `code` without its payload: a host's details (addresses,
/// internal messages) stay out of the error, in the log only.
fn code_name(code: &ErrorCode) -> String {
    let debug = format!("{code:?}");
    let name = debug.strip_prefix("ErrorCode::").unwrap_or(&debug);
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn fault(what: &str, code: &ErrorCode) -> Fault {
    eprintln!("edgeplug uploader: {what}: {code:?}");
    Fault {
        retryable: transport_is_retryable(code),
        message: format!("{what}: {}", code_name(code)),
    }
}

fn broken(what: &str) -> Fault {
    Fault {
        retryable: false,
        message: format!("{what} failed"),
    }
}

/// [`Store`] over `wasi:http/outgoing-handler`, `wasi:clocks` and
/// `wasi:random`, with the configured timeouts on every request.
struct WasiStore {
    timeouts: Timeouts,
}

impl Store for WasiStore {
    type InFlight = InFlight;

    fn start(&mut self, request: &SignedRequest, body: &[u8]) -> Result<InFlight, Fault> {
        start(request, body, &self.timeouts)
    }

    fn finish(&mut self, in_flight: InFlight) -> Result<Response, Fault> {
        match in_flight {
            InFlight::Sent(future) => read_response(wait(&future)?),
            InFlight::Answered(answer) => answer,
        }
    }

    fn now_ms(&mut self) -> u64 {
        monotonic_clock::now() / 1_000_000
    }

    fn sleep_ms(&mut self, ms: u64) {
        if ms > 0 {
            monotonic_clock::subscribe_duration(ms.saturating_mul(1_000_000)).block();
        }
    }

    fn random(&mut self) -> u64 {
        random::get_random_u64()
    }

    fn wall_time(&mut self) -> SystemTime {
        SystemTime::now()
    }
}

/// The request options carrying `timeouts`. A host may refuse one (it
/// then keeps its own): that is not an error.
fn request_options(timeouts: &Timeouts) -> RequestOptions {
    let ns = |ms: u64| ms.saturating_mul(1_000_000);
    let options = RequestOptions::new();
    let _ = options.set_connect_timeout(Some(ns(timeouts.connect_ms)));
    let _ = options.set_first_byte_timeout(Some(ns(timeouts.first_byte_ms)));
    let _ = options.set_between_bytes_timeout(Some(ns(timeouts.between_bytes_ms)));
    options
}

/// A request whose body went out, or that already has its answer (the
/// store refused it before taking the whole body).
enum InFlight {
    Sent(FutureIncomingResponse),
    Answered(Result<Response, Fault>),
}

/// Sends one request with its whole `body`; the answer is read later.
fn start(request: &SignedRequest, body: &[u8], timeouts: &Timeouts) -> Result<InFlight, Fault> {
    let entries: Vec<(String, Vec<u8>)> = request
        .headers
        .iter()
        .map(|(name, value)| (name.clone(), value.clone().into_bytes()))
        .collect();
    let headers =
        Fields::from_list(&entries).map_err(|_| broken("building the request headers"))?;
    let outgoing = OutgoingRequest::new(headers);
    let scheme = match request.url.scheme {
        Scheme::Http => HttpScheme::Http,
        Scheme::Https => HttpScheme::Https,
    };
    let method = match request.method {
        S3Method::Put => Method::Put,
        S3Method::Post => Method::Post,
        S3Method::Delete => Method::Delete,
        S3Method::Head => Method::Head,
    };
    outgoing
        .set_method(&method)
        .map_err(|()| broken("setting the request method"))?;
    outgoing
        .set_scheme(Some(&scheme))
        .map_err(|()| broken("setting the request scheme"))?;
    outgoing
        .set_authority(Some(&request.url.authority))
        .map_err(|()| broken("setting the request authority"))?;
    outgoing
        .set_path_with_query(Some(&request.path_with_query))
        .map_err(|()| broken("setting the request path"))?;
    let outgoing_body = outgoing
        .body()
        .map_err(|()| broken("opening the request body"))?;
    let output = outgoing_body
        .write()
        .map_err(|()| broken("opening the request body stream"))?;

    // Handed over before the body is written, so that the host sends while
    // we write.
    let future = outgoing_handler::handle(outgoing, Some(request_options(timeouts)))
        .map_err(|code| fault("sending the request", &code))?;

    if write_all(&output, body).is_err() {
        // Dropping the body without `finish` ends the request early.
        drop(output);
        drop(outgoing_body);
        // The host may close the stream once the declared length is in, or
        // the store may answer (refuse) before reading everything: its
        // answer is what counts. A 2xx means it got the whole body, as it
        // checks the signed SHA-256 of the payload.
        // The answer's failure is the cause; the write's is its echo.
        return Ok(InFlight::Answered(wait(&future).and_then(read_response)));
    }
    drop(output);
    OutgoingBody::finish(outgoing_body, None)
        .map_err(|code| fault("finishing the request body", &code))?;
    Ok(InFlight::Sent(future))
}

/// Writes `data` whole, as fast as the host takes it.
fn write_all(output: &OutputStream, mut data: &[u8]) -> Result<(), StreamError> {
    if data.is_empty() {
        return Ok(());
    }
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

/// Blocks until the store answers (or the host gives up).
fn wait(future: &FutureIncomingResponse) -> Result<IncomingResponse, Fault> {
    loop {
        match future.get() {
            Some(Ok(Ok(response))) => return Ok(response),
            Some(Ok(Err(code))) => return Err(fault("waiting for the store's answer", &code)),
            // Only if the response was already taken: a bug here.
            Some(Err(())) => return Err(broken("taking the store's answer")),
            None => future.subscribe().block(),
        }
    }
}

fn header(response: &IncomingResponse, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .into_iter()
        .next()
        .map(|v| String::from_utf8_lossy(&v).into_owned())
}

/// Status, the headers the uploader needs, and at most [`MAX_ERROR_BODY`]
/// bytes of the body. An answer whose body breaks off (a between-bytes
/// timeout, a dropped connection) is a fault like no answer at all: the
/// request may have taken effect, and a `Complete` whose XML is cut short
/// must be retried (and its outcome checked), not taken as a refusal.
fn read_response(response: IncomingResponse) -> Result<Response, Fault> {
    let status = response.status();
    let etag = header(&response, "etag");
    let checksum_sha256 = header(&response, "x-amz-checksum-sha256");
    let content_length = header(&response, "content-length").and_then(|v| v.trim().parse().ok());
    let body = read_capped(&response)?;
    Ok(Response {
        status,
        etag,
        checksum_sha256,
        content_length,
        body,
    })
}

fn read_capped(response: &IncomingResponse) -> Result<Vec<u8>, Fault> {
    let mut bytes = Vec::new();
    let Ok(body) = response.consume() else {
        return Ok(bytes);
    };
    let Ok(stream) = body.stream() else {
        return Ok(bytes);
    };
    let mut outcome = Ok(());
    // An empty read is allowed but should not repeat; bound the loop anyway.
    for _ in 0..MAX_ERROR_BODY {
        let room = MAX_ERROR_BODY.saturating_sub(bytes.len());
        if room == 0 {
            break;
        }
        match stream.blocking_read(room as u64) {
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                eprintln!(
                    "edgeplug uploader: reading the store's answer failed: {}",
                    e.to_debug_string()
                );
                outcome = Err(Fault {
                    retryable: true,
                    message: "reading the store's answer failed".to_owned(),
                });
                break;
            }
        }
    }
    // The stream is a child of the body: it must go first.
    drop(stream);
    drop(body);
    outcome.map(|()| bytes)
}

/// [`Source`] over the caller's `wasi:http` incoming body.
///
/// A closed stream is not yet the end of the body: the body is then
/// finished and its trailers checked, and only when they arrive without
/// error does the source report the end. A host that reports a client
/// disconnect as a plain `closed` stream reports it there.
enum WasiBody {
    /// The stream is being read; the body owns it, so the stream goes first.
    Reading {
        stream: InputStream,
        body: IncomingBody,
    },
    /// The body ended whole.
    Ended,
    /// The body was cut off; every further read says so again.
    CutOff(String),
}

impl WasiBody {
    fn new(body: IncomingBody) -> Result<Self, Error> {
        let stream = body
            .stream()
            .map_err(|()| Error::Internal("the request body's stream was already taken".into()))?;
        Ok(Self::Reading { stream, body })
    }

    /// Drops the stream, finishes the body and waits for its trailers.
    fn finish(&mut self) -> StreamFault {
        let state = std::mem::replace(self, Self::Ended);
        let Self::Reading { stream, body } = state else {
            *self = state;
            return self.fault();
        };
        drop(stream);
        let trailers = IncomingBody::finish(body);
        let outcome = loop {
            match trailers.get() {
                Some(Ok(Ok(_))) => break None,
                Some(Ok(Err(code))) => {
                    eprintln!("edgeplug uploader: the request body ended with an error: {code:?}");
                    break Some("the body ended with an error".to_owned());
                }
                Some(Err(())) => break Some("its trailers were already taken".to_owned()),
                None => trailers.subscribe().block(),
            }
        };
        *self = match outcome {
            None => Self::Ended,
            Some(reason) => Self::CutOff(reason),
        };
        self.fault()
    }

    fn fault(&self) -> StreamFault {
        match self {
            Self::CutOff(reason) => StreamFault::Failed(reason.clone()),
            _ => StreamFault::Closed,
        }
    }
}

impl Source for WasiBody {
    fn read(&mut self, max: u64) -> Result<Vec<u8>, StreamFault> {
        let Self::Reading { stream, .. } = self else {
            return Err(self.fault());
        };
        match stream.blocking_read(max) {
            Ok(bytes) => Ok(bytes),
            Err(StreamError::Closed) => Err(self.finish()),
            Err(StreamError::LastOperationFailed(e)) => {
                eprintln!(
                    "edgeplug uploader: reading the request body failed: {}",
                    e.to_debug_string()
                );
                let reason = "reading it failed".to_owned();
                // Dropping the stream and the body tells the host nothing
                // more will be read.
                *self = Self::CutOff(reason.clone());
                Err(StreamFault::Failed(reason))
            }
        }
    }
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
        let message = fault(
            "sending",
            &ErrorCode::InternalError(Some("acct-1234".into())),
        )
        .message;
        assert_eq!(message, "sending: InternalError");
    }

    #[test]
    fn connection_trouble_is_retried_but_not_refusals() {
        for code in [
            ErrorCode::ConnectionRefused,
            ErrorCode::ConnectionTerminated,
            ErrorCode::ConnectionTimeout,
            ErrorCode::ConnectionReadTimeout,
            ErrorCode::ConnectionWriteTimeout,
            ErrorCode::DnsTimeout,
            ErrorCode::HttpResponseTimeout,
        ] {
            assert!(transport_is_retryable(&code), "{code:?}");
        }
        for code in [
            ErrorCode::DestinationNotFound,
            ErrorCode::TlsCertificateError,
            ErrorCode::HttpRequestDenied,
            ErrorCode::InternalError(Some("x".into())),
        ] {
            assert!(!transport_is_retryable(&code), "{code:?}");
        }
    }
}
