//! Host-side bindings generated from the edgeplug WIT package.
//!
//! The uploader's and the entry's worlds are bound here (the counter's is
//! the host crate's, [`edgeplug_host::bindings::counter`]), so that a test
//! can call each component's exports directly and the test kit can fake the
//! entry's `edgeplug:worker` imports. Shared imports are generated once and reused through `with`, so
//! that one host implementation serves all. The counter and uploader export
//! their own copy of `edgeplug:worker/types`; [`WitError`] (the entry's
//! imported copy) is the one the host works with, and the exported copies
//! convert into it.

pub use edgeplug_host::bindings::counter;

/// The `uploader-component` world: outgoing HTTP and config imports, the
/// `edgeplug:worker/uploader` export.
// Generated: the WIT's own comments document what can be documented.
#[allow(missing_docs)]
pub mod uploader {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "edgeplug:worker/uploader-component",
        imports: { default: async | trappable },
        exports: { default: async },
        additional_derives: [PartialEq, Eq],
        with: {
            "wasi:config": edgeplug_host::bindings::counter::wasi::config,
            "wasi:io": wasmtime_wasi::p2::bindings::io,
            "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
            "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        },
        require_store_data_send: true,
    });
}

/// The `entry-component` world: `edgeplug:worker/{counter,uploader}` imports
/// (which the host can fake, to test the entry alone).
// Generated: the WIT's own comments document what can be documented.
#[allow(missing_docs)]
pub mod entry {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "edgeplug:worker/entry-component",
        imports: { default: async | trappable },
        exports: { default: async },
        additional_derives: [PartialEq, Eq],
        with: {
            "wasi:config": edgeplug_host::bindings::counter::wasi::config,
            "wasi:io": wasmtime_wasi::p2::bindings::io,
            "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        },
        require_store_data_send: true,
    });
}

pub use entry::edgeplug::worker::types::{Error as WitError, UpstreamError};

/// Converts a component's exported copy of `types.error` into [`WitError`]:
/// the same WIT type, generated once per world.
macro_rules! convert_exported_error {
    ($error:ty) => {
        impl From<$error> for WitError {
            fn from(error: $error) -> Self {
                type E = $error;
                match error {
                    E::InvalidInput(m) => WitError::InvalidInput(m),
                    E::Unauthorized(m) => WitError::Unauthorized(m),
                    E::TooLarge(n) => WitError::TooLarge(n),
                    E::Unavailable(m) => WitError::Unavailable(m),
                    E::Upstream(e) => WitError::Upstream(UpstreamError {
                        status: e.status,
                        code: e.code,
                        message: e.message,
                    }),
                    E::Internal(m) => WitError::Internal(m),
                }
            }
        }
    };
}

convert_exported_error!(edgeplug_host::bindings::counter::exports::edgeplug::worker::types::Error);
convert_exported_error!(uploader::exports::edgeplug::worker::types::Error);
