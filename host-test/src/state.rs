//! The per-instance store data every guest runs with.

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::config::ConfigValues;
use crate::fakes::{FakeCounter, FakeUploader};
use crate::fastedge::FastEdge;
use crate::kv::{KvBackend, Pop};
use crate::limits::GuestLimits;
use crate::outbound::OutboundHttp;

/// What one instance sees of the host: WASI, wasi-http with the host's
/// outgoing policy, the KV backend, config values, and the fakes that stand
/// in for `edgeplug:worker/{counter,uploader}` when a component imports them.
pub struct HostState {
    pub(crate) table: ResourceTable,
    pub(crate) wasi: WasiCtx,
    pub(crate) http: WasiHttpCtx,
    pub(crate) hooks: OutboundHttp,
    pub(crate) kv: Arc<dyn KvBackend>,
    pub(crate) config: ConfigValues,
    pub(crate) counter: FakeCounter,
    pub(crate) uploader: FakeUploader,
    /// The PoP this instance's request landed on.
    pub(crate) pop: Pop,
    /// The fake FastEdge platform behind `gcore:fastedge/*`.
    pub(crate) fastedge: FastEdge,
    pub(crate) limits: GuestLimits,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}
