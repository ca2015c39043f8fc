//! Host-side bindings of the two FastEdge adapter worlds: their
//! `gcore:fastedge/*` imports (which the host fakes) and their `wasi:*`
//! exports (which adapter-level tests call).

/// The `fastedge-kv-adapter` world: `gcore:fastedge/{cache-sync,key-value,
/// dictionary}` imports, `wasi:keyvalue/{store,atomics}` exports.
// Generated: the WIT's own comments document what can be documented.
#[allow(missing_docs)]
pub mod kv_adapter {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "edgeplug:worker/fastedge-kv-adapter",
        imports: { default: async | trappable },
        exports: { default: async },
        additional_derives: [PartialEq, Eq],
        with: {
            "gcore:fastedge/key-value.store": crate::fastedge::StoreHandle,
        },
    });
}

/// The `fastedge-config-adapter` world: `gcore:fastedge/{secret,dictionary}`
/// imports, the `wasi:config/store` export.
// Generated: the WIT's own comments document what can be documented.
#[allow(missing_docs)]
pub mod config_adapter {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "edgeplug:worker/fastedge-config-adapter",
        imports: { default: async | trappable },
        exports: { default: async },
        additional_derives: [PartialEq, Eq],
        with: {
            "gcore:fastedge/dictionary": super::kv_adapter::gcore::fastedge::dictionary,
        },
    });
}
