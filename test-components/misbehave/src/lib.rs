//! A component that misbehaves on request, so tests can show the host's
//! limits hold: `GET /loop` computes forever, `GET /alloc` allocates until
//! memory runs out, anything else answers `200 ok`.

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
        match Behavior::for_path(request.path_with_query().as_deref()) {
            Behavior::Loop => behavior::spin_forever(),
            Behavior::Allocate => behavior::allocate_without_end(),
            Behavior::Answer => answer_ok(response_out),
        }
    }
}

fn answer_ok(response_out: ResponseOutparam) {
    let response = OutgoingResponse::new(Fields::new());
    let body = response.body().expect("a new response has a body");
    ResponseOutparam::set(response_out, Ok(response));
    if let Ok(stream) = body.write() {
        // The host reads two bytes at once: nothing to flush in pieces.
        let _ = stream.blocking_write_and_flush(b"ok");
    }
    let _ = OutgoingBody::finish(body, None);
}

#[cfg(target_arch = "wasm32")]
bindings::export!(Component with_types_in bindings);
