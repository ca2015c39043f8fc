//! The only module that calls imports: config, the counter, the clock, and
//! writing an answer through `wasi:http`.

use crate::bindings::edgeplug::worker::counter;
use crate::bindings::edgeplug::worker::types::Error as CounterError;
use crate::bindings::wasi::config::store;
use crate::bindings::wasi::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};
use crate::errors::Reply;
use crate::limiter::Counter;
use crate::settings::{Settings, SettingsError};

/// `wasi:io` accepts at most 4 KiB per blocking write.
const MAX_CHUNK: usize = 4096;

/// Reads the settings through `wasi:config/store`.
pub fn settings() -> Result<Settings, SettingsError> {
    Settings::read(|key| {
        store::get(key).map_err(|error| match error {
            store::Error::Upstream(message) | store::Error::Io(message) => message,
        })
    })
}

/// The first value of a request header, if present.
pub fn header(request: &IncomingRequest, name: &str) -> Option<Vec<u8>> {
    // `headers()` is a child of the request: it is dropped here, before the
    // request moves on to the next handler.
    request.headers().get(name).into_iter().next()
}

/// Seconds since the Unix epoch, from `wasi:clocks/wall-clock` (through std).
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// The imported `edgeplug:worker/counter`.
pub struct ImportedCounter;

impl Counter for ImportedCounter {
    fn increment(&mut self, name: &str, delta: u64) -> Result<u64, String> {
        match counter::increment(name, delta) {
            Ok(count) => Ok(count),
            // The counter's `too-large(value)`: the window's counter is at
            // the store's maximum. The count is then at least `value`, far
            // over any limit, so the client is refused (429), never let
            // through as a failing counter would be when failing open.
            Err(CounterError::TooLarge(value)) => Ok(value),
            Err(
                CounterError::InvalidInput(m)
                | CounterError::Unauthorized(m)
                | CounterError::Unavailable(m)
                | CounterError::Internal(m),
            ) => Err(m),
            Err(CounterError::Upstream(up)) => Err(format!("upstream answered {}", up.status)),
        }
    }
}

/// Sends `reply` as the response.
pub fn write_reply(out: ResponseOutparam, reply: Reply) {
    let headers = Fields::new();
    for (name, value) in &reply.headers {
        // Our names and values are valid; a host refusing one should not
        // cost the whole answer.
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
