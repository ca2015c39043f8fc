//! The linker: every import the host provides to the workers it runs.

use wasmtime::component::{HasSelf, Linker};

use crate::bindings::counter::wasi::{config, keyvalue};
use crate::engine::engine;
use crate::state::HostState;

/// Which interfaces a linker provides beside WASI p2 and wasi-http.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HostImports {
    /// `wasi:keyvalue/{store,atomics}`, `wasi:config/store` and
    /// `gcore:fastedge/*`: everything this host has.
    #[default]
    All,
    /// Only `wasi:config/store`: the shape of `wasmtime serve -S config`
    /// and of most wasi-http hosts, where a worker that needs a shared
    /// store reaches it over outgoing HTTP. A worker importing anything
    /// else fails to instantiate, as it would there.
    WasiHttpAndConfig,
}

/// Builds the linker with every interface the host provides: WASI p2,
/// wasi-http, `wasi:keyvalue/{store,atomics}`, `wasi:config/store`, and
/// `gcore:fastedge/*` (answered by the instance's
/// [`FastEdgePlatform`](crate::fastedge::FastEdgePlatform)).
pub fn linker() -> anyhow::Result<Linker<HostState>> {
    linker_for(HostImports::All)
}

/// Builds a linker with WASI p2, wasi-http and what `imports` names.
pub fn linker_for(imports: HostImports) -> anyhow::Result<Linker<HostState>> {
    let mut linker = Linker::<HostState>::new(engine());
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    config::store::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
    if imports == HostImports::All {
        keyvalue::store::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
        keyvalue::atomics::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
        crate::fastedge::add_to_linker(&mut linker)?;
    }
    Ok(linker)
}
