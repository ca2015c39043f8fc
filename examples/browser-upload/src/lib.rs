//! An example FastEdge app of one's own, built on edgeplug: a page whose
//! browser uploads go straight to the bucket ("no middleman").
//!
//! The app is not edgeplug's entry. It has its own HTTP handler, written
//! with wstd's `#[wstd::http_server]` as FastEdge's Rust guide teaches, and
//! imports `edgeplug:worker/counter` and `edgeplug:worker/uploader`, which
//! `browser-upload.wac` wires to edgeplug's components and FastEdge's
//! adapters. It reads its title through FastEdge's own `dictionary` and its
//! upload token through `secret`.
//!
//! The logic is plain Rust over the [`platform::Platform`] trait, unit-tested
//! on the host; `server.rs` (wasm only) is the glue over the imports.

pub mod app;
pub mod auth;
pub mod errors;
pub mod page;
pub mod platform;
pub mod policy;
pub mod reply;
pub mod settings;

/// Generated bindings of the app's imports (`wit/world.wit`), over
/// edgeplug's `wit/` and its vendored `wit/deps/`.
#[cfg(target_arch = "wasm32")]
#[allow(missing_docs)]
mod bindings {
    wit_bindgen::generate!({
        path: ["../../wit", "wit"],
        world: "edgeplug-examples:browser-upload/browser-upload",
        generate_all,
    });
}

#[cfg(target_arch = "wasm32")]
mod server;
