//! The monolith: the entry, counter and uploader linked into one component,
//! for `cargo xtask bench` only (never shipped). It runs the entry's own
//! request handling ([`entry::app`]) over [`services::Direct`], which calls
//! the counter's and the uploader's code as plain Rust functions where the
//! composed worker crosses a component boundary. The bench compares the two.

pub mod convert;
pub mod services;

/// Generated `wit-bindgen` bindings for the `monolith` world.
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        // The edgeplug package first: its `deps/` holds the WASI packages
        // this crate's own world names.
        path: ["../../wit", "wit"],
        world: "edgeplug:monolith/monolith",
        // The HTTP types are the entry's, so its request reading and reply
        // writing take the handler's arguments as they are.
        with: {
            "wasi:http/types@0.2.6": entry::bindings::wasi::http::types,
            "wasi:io/streams@0.2.6": entry::bindings::wasi::io::streams,
            "wasi:io/error@0.2.6": entry::bindings::wasi::io::error,
            "wasi:io/poll@0.2.6": entry::bindings::wasi::io::poll,
            "wasi:clocks/monotonic-clock@0.2.6": entry::bindings::wasi::clocks::monotonic_clock,
        },
        generate_all,
    });
}

use bindings::exports::wasi::http::incoming_handler::Guest;
use entry::bindings::wasi::http::types::{IncomingRequest, ResponseOutparam};

/// The exported component.
pub struct Monolith;

impl Guest for Monolith {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        // The entry component's `handle`, with direct calls for services.
        let head = entry::host::read_head(&request);
        let mut services = services::Direct::new(request);
        let reply = entry::app::handle(&mut services, &head);
        // Release the request (and any unread body) before answering.
        drop(services);
        entry::host::write_reply(response_out, reply);
    }
}

// Only on wasm, like the components: a native linker rejects the export
// symbols' names.
#[cfg(target_arch = "wasm32")]
bindings::export!(Monolith with_types_in bindings);
