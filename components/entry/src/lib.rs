//! The edgeplug entry component: the HTTP front (`wasi:http/incoming-handler`)
//! routing to the `counter` and `uploader` components, with limits and JSON
//! errors.
//!
//! All logic lives in plain modules that build and test on the host
//! ([`app`] over the [`app::Services`] trait); [`host`] is the only module
//! that calls imports, and this file is only the glue.

// Linked for its `write` and `getenv`, which keep wasi-libc's stdio and
// environment (and their imports) out of the component.
extern crate guest_stdio;

pub mod app;
pub mod auth;
pub mod counters;
pub mod errors;
pub mod host;
pub mod key;
pub mod presign;
pub mod query;
pub mod response;
pub mod rfc3339;
pub mod router;
pub mod upload;

/// Generated `wit-bindgen` bindings for the `entry-component` world.
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "edgeplug:worker/entry-component",
        generate_all,
        // The world's exports are described by `export!` itself, not by the
        // crate: a crate linking this one as a library (bench/monolith)
        // without the `export` feature then exports nothing of it.
        pub_export_macro: true,
    });
}

use bindings::exports::wasi::http::incoming_handler::Guest;
use bindings::wasi::http::types::{IncomingRequest, ResponseOutparam};

/// The exported component.
pub struct Component;

impl Guest for Component {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let head = host::read_head(&request);
        let mut services = host::WasiServices::new(request);
        let reply = app::handle(&mut services, &head);
        // Release the request (and any unread body) before answering.
        drop(services);
        host::write_reply(response_out, reply);
    }
}

// Only on wasm: the export symbols are named like `wasi:http/incoming-handler@0.2.6#handle`,
// which a native linker rejects when `cargo test` builds the host cdylib.
// Only with `export`: a crate using this one as a library turns it off.
#[cfg(all(target_arch = "wasm32", feature = "export"))]
bindings::export!(Component with_types_in bindings);
