//! What a worker's instances are made from.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmtime::component::Linker;
use wasmtime::{Store, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder};
use wasmtime_wasi_http::WasiHttpCtx;

use crate::config::ConfigValues;
use crate::engine::engine;
use crate::fastedge::{FastEdgePlatform, LocalFastEdge};
use crate::kv::{KvBackend, MemoryKv};
use crate::limits::{GuestLimits, PeakMemory};
use crate::linker::HostImports;
use crate::outbound::OutboundHttp;
use crate::state::HostState;
use crate::sync::lock;

/// Makes the instances an [`HttpWorker`](crate::HttpWorker) runs requests
/// in. [`WorkerContext`] is the host's own; an embedder that links more
/// imports (the test kit links fakes of `edgeplug:worker/*`) wraps it.
pub trait Instances: Clone + Send + Sync + 'static {
    /// A new store for one instance.
    fn new_store(&self) -> Store<HostState>;

    /// How long a request may run, if bounded.
    fn request_timeout(&self) -> Option<Duration>;

    /// The linker instances are made with: [`linker`](crate::linker) unless
    /// the context links more.
    fn linker(&self) -> anyhow::Result<Linker<HostState>> {
        crate::linker()
    }
}

/// Everything a new instance's [`HostState`] is made from: the KV backend,
/// config values, the outgoing-HTTP policy, the FastEdge platform, memory
/// and time limits. Clones share the store, the routes and the platform;
/// config is copied into each instance when it starts, so a change applies
/// from the next request on.
#[derive(Clone)]
pub struct WorkerContext {
    kv: Arc<dyn KvBackend>,
    /// Shared, not copied, into each instance: a change swaps the `Arc`.
    config: Arc<Mutex<Arc<ConfigValues>>>,
    outbound: OutboundHttp,
    fastedge: Arc<dyn FastEdgePlatform>,
    inherit_stdio: bool,
    max_memory_bytes: Option<usize>,
    request_timeout: Option<Duration>,
    peak_memory: Arc<PeakMemory>,
    imports: HostImports,
}

impl std::fmt::Debug for WorkerContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerContext")
            .field("max_memory_bytes", &self.max_memory_bytes)
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

impl Default for WorkerContext {
    fn default() -> Self {
        Self::new()
    }
}

impl WorkerContext {
    /// A context with an empty in-memory KV store, no config, no outgoing
    /// routes (and no network), a fresh [`LocalFastEdge`], guests' output on
    /// the host's, and no limits.
    pub fn new() -> Self {
        Self {
            kv: Arc::new(MemoryKv::new()),
            config: Default::default(),
            outbound: OutboundHttp::new(),
            fastedge: Arc::new(LocalFastEdge::new()),
            inherit_stdio: true,
            max_memory_bytes: None,
            request_timeout: None,
            peak_memory: Default::default(),
            imports: HostImports::All,
        }
    }

    /// Uses `kv` as the `wasi:keyvalue` store.
    #[must_use]
    pub fn with_kv(mut self, kv: Arc<dyn KvBackend>) -> Self {
        self.kv = kv;
        self
    }

    /// Links only `imports` (beside WASI p2 and wasi-http) into instances:
    /// [`HostImports::WasiHttpAndConfig`] plays a plain wasi-http host.
    #[must_use]
    pub fn with_imports(mut self, imports: HostImports) -> Self {
        self.imports = imports;
        self
    }

    /// Uses `platform` behind `gcore:fastedge/*`.
    #[must_use]
    pub fn with_fastedge(mut self, platform: Arc<dyn FastEdgePlatform>) -> Self {
        self.fastedge = platform;
        self
    }

    /// Whether guests' stdout and stderr go to the host's (on by default).
    #[must_use]
    pub fn with_inherited_stdio(mut self, inherit: bool) -> Self {
        self.inherit_stdio = inherit;
        self
    }

    /// Gives each request `timeout` to answer: a guest still running then
    /// is interrupted (its instance torn down), and the host answers 504.
    #[must_use]
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// The request deadline, if any.
    pub fn request_timeout(&self) -> Option<Duration> {
        self.request_timeout
    }

    /// Caps each guest linear memory at `bytes`: growth past it fails, the
    /// guest traps, and the host keeps serving.
    #[must_use]
    pub fn with_memory_limit(mut self, bytes: usize) -> Self {
        self.max_memory_bytes = Some(bytes);
        self
    }

    /// The most linear memory guests have used so far.
    pub fn peak_memory(&self) -> &PeakMemory {
        &self.peak_memory
    }

    /// The KV store in use.
    pub fn kv(&self) -> &Arc<dyn KvBackend> {
        &self.kv
    }

    /// The FastEdge platform in use.
    pub fn fastedge(&self) -> &Arc<dyn FastEdgePlatform> {
        &self.fastedge
    }

    /// The outgoing-HTTP routes and log.
    pub fn outbound(&self) -> &OutboundHttp {
        &self.outbound
    }

    /// Sets one config value for the instances started from now on.
    pub fn set_config(&self, key: impl Into<String>, value: impl Into<String>) {
        Arc::make_mut(&mut lock(&self.config)).set(key, value);
    }

    /// Removes one config value for the instances started from now on.
    pub fn remove_config(&self, key: &str) {
        Arc::make_mut(&mut lock(&self.config)).remove(key);
    }

    /// Replaces every config value.
    pub fn replace_config(&self, values: ConfigValues) {
        *lock(&self.config) = Arc::new(values);
    }

    /// A snapshot of the config values.
    pub fn config(&self) -> ConfigValues {
        ConfigValues::clone(&lock(&self.config))
    }

    /// A new store for one instance, with `wasi` adjusting its WASI context
    /// (a wall clock, say) and `extensions` for the imports an embedder
    /// links itself.
    pub fn new_store_with(
        &self,
        wasi: impl FnOnce(&mut WasiCtxBuilder),
        extensions: http::Extensions,
    ) -> Store<HostState> {
        let mut builder = WasiCtx::builder();
        if self.inherit_stdio {
            builder.inherit_stdout().inherit_stderr();
        }
        wasi(&mut builder);
        let state = HostState {
            table: Default::default(),
            wasi: builder.build(),
            http: WasiHttpCtx::new(),
            hooks: self.outbound.clone(),
            kv: Arc::clone(&self.kv),
            config: Arc::clone(&lock(&self.config)),
            config_source: Arc::clone(&self.config),
            deadline: self.request_timeout.map(|timeout| Instant::now() + timeout),
            fastedge: Arc::clone(&self.fastedge),
            limits: GuestLimits::new(self.max_memory_bytes, Arc::clone(&self.peak_memory)),
            extensions,
        };
        let mut store = Store::new(engine(), state);
        store.limiter(|state| &mut state.limits);
        // Every epoch tick the guest yields to the executor (so a guest
        // that computes without pause shares its thread and lets host-side
        // timers fire), and past the request's deadline it is interrupted:
        // a deadline precise to one tick, however late the ticker runs.
        // The deadline is the store's, not captured here: a reused instance
        // gets each request's own.
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|store| {
            Ok(match store.data().deadline {
                Some(deadline) if Instant::now() >= deadline => UpdateDeadline::Interrupt,
                _ => UpdateDeadline::Yield(1),
            })
        });
        store
    }
}

impl Instances for WorkerContext {
    fn new_store(&self) -> Store<HostState> {
        self.new_store_with(|_| {}, http::Extensions::new())
    }

    fn request_timeout(&self) -> Option<Duration> {
        self.request_timeout
    }

    fn linker(&self) -> anyhow::Result<Linker<HostState>> {
        crate::linker_for(self.imports)
    }
}
