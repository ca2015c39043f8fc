//! A component that misbehaves on request, so tests can show the host's
//! limits and its instance reuse hold: `GET /loop` computes forever,
//! `GET /alloc` allocates until memory runs out, `GET /trap` traps,
//! `GET /panic` panics (its message on stderr),
//! `GET /hold?mib=N` keeps N MiB for the instance's life, `/echo` answers
//! with the request's headers and body, `GET /instance` counts the requests
//! its instance has answered, anything else answers `200 ok`.

// Links std's stderr as the components do (see `guest-stdio`), so a test
// sees a panic's message arrive through it.
extern crate guest_stdio;

pub mod behavior;

/// Generated `wit-bindgen` bindings: a world exporting only
/// `wasi:http/incoming-handler`, as any wasi-http guest does.
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        // edgeplug's folder first: its `deps/` holds the WASI packages the
        // world in `wit/` names.
        path: ["../../wit", "wit"],
        world: "edgeplug-test:misbehave/misbehave",
        generate_all,
    });
}

use behavior::Behavior;
use bindings::exports::wasi::http::incoming_handler::Guest;
use bindings::wasi::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

/// The exported component.
pub struct Component;

impl Guest for Component {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        // Every request counts, whatever it asks for.
        let answered_here = behavior::count_instance_request();
        match Behavior::for_path(request.path_with_query().as_deref()) {
            Behavior::Loop => behavior::spin_forever(),
            Behavior::Allocate => behavior::allocate_without_end(),
            Behavior::Trap => std::process::abort(),
            Behavior::Panic => panic!("{}", behavior::PANIC_MESSAGE),
            Behavior::Hold { mib } => {
                let answer = if behavior::hold_memory(mib) {
                    "held"
                } else {
                    "refused"
                };
                answer_with(response_out, answer.as_bytes());
            }
            Behavior::Echo => {
                let headers = request.headers().entries();
                let body = read_body(&request);
                answer_with(response_out, behavior::echo(&headers, &body).as_bytes());
            }
            Behavior::CountInstanceRequests => {
                answer_with(response_out, answered_here.to_string().as_bytes());
            }
            Behavior::Answer => answer_with(response_out, b"ok"),
        }
    }
}

/// The whole request body (empty if it cannot be read).
fn read_body(request: &IncomingRequest) -> Vec<u8> {
    let mut body = Vec::new();
    let Ok(incoming) = request.consume() else {
        return body;
    };
    if let Ok(stream) = incoming.stream() {
        while let Ok(chunk) = stream.blocking_read(64 * 1024) {
            body.extend_from_slice(&chunk);
        }
    }
    body
}

fn answer_with(response_out: ResponseOutparam, bytes: &[u8]) {
    let response = OutgoingResponse::new(Fields::new());
    let body = response.body().expect("a new response has a body");
    ResponseOutparam::set(response_out, Ok(response));
    if let Ok(stream) = body.write() {
        // `blocking-write-and-flush` takes at most 4096 bytes per call.
        for chunk in bytes.chunks(4096) {
            if stream.blocking_write_and_flush(chunk).is_err() {
                break;
            }
        }
    }
    let _ = OutgoingBody::finish(body, None);
}

#[cfg(target_arch = "wasm32")]
bindings::export!(Component with_types_in bindings);
