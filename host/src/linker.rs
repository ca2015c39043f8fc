//! The linker: every import the host provides to the workers it runs.

use wasmtime::component::{HasSelf, Linker};

use crate::bindings::counter::wasi::{config, keyvalue};
use crate::engine::engine;
use crate::state::HostState;

/// Builds the linker with every interface the host provides: WASI p2,
/// wasi-http, `wasi:keyvalue/{store,atomics}`, `wasi:config/store`, and
/// `gcore:fastedge/*` (answered by the instance's
/// [`FastEdgePlatform`](crate::fastedge::FastEdgePlatform)).
pub fn linker() -> anyhow::Result<Linker<HostState>> {
    let mut linker = Linker::<HostState>::new(engine());
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    keyvalue::store::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
    keyvalue::atomics::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
    config::store::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
    crate::fastedge::add_to_linker(&mut linker)?;
    Ok(linker)
}
