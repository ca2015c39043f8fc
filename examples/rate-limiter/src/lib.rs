//! An example component built on edgeplug: rate-limiting middleware.
//!
//! It exports `wasi:http/incoming-handler` and imports another one (the
//! handler it protects) and `edgeplug:worker/counter`. Each request adds 1
//! to the counter `rl:{window}:{client}`; past `rate-limit-requests` in the
//! current window the answer is 429 with `retry-after`, and otherwise the
//! request and its response slot go, untouched, to the next handler.
//!
//! The logic is plain Rust ([`limiter::decide`] over the [`limiter::Counter`]
//! trait) that builds and tests on the host; [`host`] is the only module
//! that calls imports, and this file is only the glue.

pub mod client;
pub mod errors;
pub mod host;
pub mod limiter;
pub mod settings;
pub mod window;

/// Generated `wit-bindgen` bindings for the `rate-limiter` world.
///
/// The world is in this crate's `wit/`; the `edgeplug:worker` package it
/// imports `counter` from, and the WASI packages, are edgeplug's own
/// `wit/` (with its vendored `wit/deps/`). Both folders are given to
/// `path`: wit-bindgen resolves the second's references against packages
/// the first already brought in.
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: ["../../wit", "wit"],
        world: "edgeplug-examples:rate-limiter/rate-limiter",
        generate_all,
    });
}

use bindings::exports::wasi::http::incoming_handler::Guest;
use bindings::wasi::http::incoming_handler as next;
use bindings::wasi::http::types::{IncomingRequest, ResponseOutparam};
use limiter::Decision;

/// The exported component.
pub struct Component;

impl Guest for Component {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let decision = limiter::decide(
            host::settings(),
            |name| host::header(&request, name),
            host::now_secs(),
            &mut host::ImportedCounter,
        );
        match decision {
            // The request moves on whole: the next handler reads its body
            // and answers through the same response slot.
            Decision::Forward { .. } => next::handle(request, response_out),
            Decision::Refuse(refusal) => {
                drop(request);
                host::write_reply(response_out, refusal.reply());
            }
        }
    }
}

// Only on wasm: the export symbols are named like
// `wasi:http/incoming-handler@0.2.6#handle`, which a native linker rejects
// when `cargo test` builds the host cdylib.
#[cfg(target_arch = "wasm32")]
bindings::export!(Component with_types_in bindings);
