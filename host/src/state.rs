//! The per-instance store data every guest runs with.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::config::ConfigValues;
use crate::fastedge::FastEdgePlatform;
use crate::kv::KvBackend;
use crate::limits::GuestLimits;
use crate::outbound::OutboundHttp;
use crate::sync::lock;

/// What one instance sees of the host: WASI, wasi-http with the host's
/// outgoing policy, the KV backend, config values, the FastEdge platform,
/// and whatever else an embedder links (kept in [`HostState::extensions`]).
pub struct HostState {
    pub(crate) table: ResourceTable,
    pub(crate) wasi: WasiCtx,
    pub(crate) http: WasiHttpCtx,
    pub(crate) hooks: OutboundHttp,
    pub(crate) kv: Arc<dyn KvBackend>,
    pub(crate) config: Arc<ConfigValues>,
    /// Where `config` is copied from at the start of every request.
    pub(crate) config_source: Arc<Mutex<Arc<ConfigValues>>>,
    /// When the current request must have answered; read at every epoch
    /// tick.
    pub(crate) deadline: Option<Instant>,
    pub(crate) fastedge: Arc<dyn FastEdgePlatform>,
    pub(crate) limits: GuestLimits,
    pub(crate) extensions: http::Extensions,
}

impl HostState {
    /// The instance's resource table, for host functions an embedder links.
    pub fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }

    /// Per-instance data an embedder added for the imports it links itself
    /// (the test kit keeps its fakes of `edgeplug:worker/*` here), typed.
    pub fn extensions(&self) -> &http::Extensions {
        &self.extensions
    }

    /// The same, to change.
    pub fn extensions_mut(&mut self) -> &mut http::Extensions {
        &mut self.extensions
    }

    /// The memory accounting of this instance.
    pub fn limits(&self) -> &GuestLimits {
        &self.limits
    }

    /// Readies a reused instance for its next request: the config as it is
    /// now (a change applies from the next request on, as with fresh
    /// instances) and the new request's deadline.
    pub(crate) fn begin_request(&mut self, deadline: Option<Instant>) {
        self.config = Arc::clone(&lock(&self.config_source));
        self.deadline = deadline;
    }
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
