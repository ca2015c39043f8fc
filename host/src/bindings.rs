//! Host-side bindings of the `counter-component` world: the
//! `wasi:keyvalue/{store,atomics}` and `wasi:config/store` imports this host
//! provides, and the `edgeplug:worker/counter` export, for calling a
//! counter directly.

/// The `counter-component` world: `wasi:keyvalue` and `wasi:config` imports,
/// the `edgeplug:worker/counter` export.
// Generated: the WIT's own comments document what can be documented.
#[allow(missing_docs)]
pub mod counter {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "edgeplug:worker/counter-component",
        imports: { default: async | trappable },
        exports: { default: async },
        additional_derives: [PartialEq, Eq],
        with: {
            "wasi:keyvalue/store.bucket": crate::kv::BucketHandle,
        },
    });
}
