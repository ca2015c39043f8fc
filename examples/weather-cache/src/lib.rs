//! An example component that is not edgeplug's: a caching proxy in front of
//! a weather API, on WASI interfaces only.
//!
//! `GET /weather/{city}` answers from the `wasi:keyvalue` cache while the
//! entry is fresh (`x-cache: hit`), and otherwise fetches
//! `{upstream-url}/forecast?city=..` through `wasi:http/outgoing-handler`
//! and caches a 200 (`x-cache: miss`). A failing store costs the cache, not
//! the answer; a failing upstream is a 502.
//!
//! The logic is plain Rust ([`service::answer`] over the [`service::Cache`]
//! and [`service::Upstream`] traits) that builds and tests on the host;
//! [`host`] is the only module that calls imports, and this file is only
//! the glue.

pub mod city;
pub mod entry;
pub mod errors;
pub mod host;
pub mod reply;
pub mod route;
pub mod service;
pub mod settings;

/// Generated `wit-bindgen` bindings for the `weather-cache` world.
///
/// The world is in this crate's `wit/`; the WASI packages it uses are the
/// ones vendored in edgeplug's `wit/deps/`, which wit-bindgen loads with
/// edgeplug's `wit/` folder, the first `path`.
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: ["../../wit", "wit"],
        world: "edgeplug-examples:weather-cache/weather-cache",
        generate_all,
    });
}

use bindings::exports::wasi::http::incoming_handler::Guest;
use bindings::wasi::http::types::{IncomingRequest, ResponseOutparam};

/// The exported component.
pub struct Component;

impl Guest for Component {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let (method, path) = host::method_and_path(&request);
        // The body of a GET is of no use; the request goes before answering.
        drop(request);
        let answer = service::answer(
            &method,
            &path,
            host::settings,
            host::now_secs(),
            &mut host::KvCache::default(),
            &mut host::HttpUpstream,
        );
        for warning in &answer.warnings {
            eprintln!("weather-cache: {warning}");
        }
        host::write_reply(response_out, answer.reply);
    }
}

// Only on wasm: the export symbols are named like
// `wasi:http/incoming-handler@0.2.6#handle`, which a native linker rejects
// when `cargo test` builds the host cdylib.
#[cfg(target_arch = "wasm32")]
bindings::export!(Component with_types_in bindings);
