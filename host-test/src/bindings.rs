//! Host-side bindings generated from the edgeplug WIT package.
//!
//! Three worlds are bound, one per component, so that a test can call each
//! component's exports directly and the host can provide each component's
//! imports. Shared interfaces are generated once (in [`counter`]) and reused
//! by the others through `with`, so that one host implementation serves all.

/// The `counter-component` world: `wasi:keyvalue` and `wasi:config` imports,
/// the `edgeplug:worker/counter` export.
pub mod counter {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "edgeplug:worker/counter-component",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "wasi:keyvalue/store.bucket": crate::kv::BucketHandle,
        },
    });
}

/// The `uploader-component` world: outgoing HTTP and config imports, the
/// `edgeplug:worker/uploader` export.
pub mod uploader {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "edgeplug:worker/uploader-component",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "wasi:config": crate::bindings::counter::wasi::config,
            "wasi:io": wasmtime_wasi::p2::bindings::io,
            "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
            "wasi:http": wasmtime_wasi_http::p2::bindings::http,
            "edgeplug:worker/types": crate::bindings::counter::edgeplug::worker::types,
        },
        require_store_data_send: true,
    });
}

/// The `entry-component` world: `edgeplug:worker/{counter,uploader}` imports
/// (which the host can fake, to test the entry alone).
pub mod entry {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "edgeplug:worker/entry-component",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "wasi:config": crate::bindings::counter::wasi::config,
            "wasi:io": wasmtime_wasi::p2::bindings::io,
            "wasi:http": wasmtime_wasi_http::p2::bindings::http,
            "edgeplug:worker/types": crate::bindings::counter::edgeplug::worker::types,
        },
        require_store_data_send: true,
    });
}

pub use counter::edgeplug::worker::types::{Error as WitError, UpstreamError};
