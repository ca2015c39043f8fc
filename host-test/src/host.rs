//! The Wasmtime embedding: one engine, one linker with every import edgeplug
//! components use, and the shared state each new instance starts from.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Engine, Store, UpdateDeadline};
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi_http::WasiHttpCtx;

use crate::bindings;
use crate::clock::GuestWallClock;
use crate::config::ConfigValues;
use crate::fakes::{FakeCounter, FakeUploader};
use crate::fastedge::FastEdge;
use crate::kv::{FakeKv, KvBackend, MultiPopKv, Pop, SimClock};
use crate::limits::{GuestLimits, PeakMemory};
use crate::outbound::OutboundHttp;
use crate::state::HostState;

/// How the engine allocates instances' memories, tables and stacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allocator {
    /// Pre-reserved slots reused across instances: instantiation is a few
    /// copy-on-write mappings instead of fresh `mmap`s, which is what makes
    /// an instance per request cheap.
    Pooling,
    /// Fresh allocations per instance: slower, but needs no up-front address
    /// space (the fallback where the machine refuses the pool's reservation).
    OnDemand,
}

impl std::fmt::Display for Allocator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Allocator::Pooling => "pooling",
            Allocator::OnDemand => "on-demand",
        })
    }
}

/// Settings of the process-wide [`engine`]. They only apply if set with
/// [`configure_engine`] before anything compiles or runs a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineOptions {
    /// The allocator to try first; pooling falls back to on-demand when the
    /// pool cannot be reserved.
    pub allocator: Allocator,
    /// How many instances may be alive at once (the pool's size). A host
    /// should cap concurrent requests below this.
    pub max_instances: u32,
}

impl Default for EngineOptions {
    /// Pooling for 256 live instances, unless `EDGEPLUG_ALLOCATOR=on-demand`.
    fn default() -> Self {
        let allocator = match std::env::var("EDGEPLUG_ALLOCATOR").as_deref() {
            Ok("on-demand") => Allocator::OnDemand,
            _ => Allocator::Pooling,
        };
        Self {
            allocator,
            max_instances: 256,
        }
    }
}

static ENGINE_OPTIONS: OnceLock<EngineOptions> = OnceLock::new();
static ENGINE: OnceLock<(Engine, Allocator)> = OnceLock::new();

/// Sets the engine's options. Fails once the engine exists (anything already
/// compiled or ran a component) or the options were set before.
pub fn configure_engine(options: EngineOptions) -> anyhow::Result<()> {
    anyhow::ensure!(
        ENGINE.get().is_none(),
        "the engine is already running; configure it before loading components"
    );
    ENGINE_OPTIONS
        .set(options)
        .map_err(|_| anyhow::anyhow!("the engine options were already set"))
}

/// The engine every host in this process shares, so compiled components can
/// be shared too.
pub fn engine() -> &'static Engine {
    &engine_and_allocator().0
}

/// The allocator the engine really uses (pooling may have fallen back).
pub fn allocator() -> Allocator {
    engine_and_allocator().1
}

fn engine_and_allocator() -> &'static (Engine, Allocator) {
    ENGINE.get_or_init(|| {
        let options = ENGINE_OPTIONS.get().copied().unwrap_or_default();
        let (engine, allocator) = match options.allocator {
            Allocator::Pooling => match new_engine(Some(options.max_instances)) {
                Ok(engine) => (engine, Allocator::Pooling),
                Err(error) => {
                    tracing::warn!(
                        error = %format!("{error:#}"),
                        "the pooling allocator is unavailable here; allocating on demand"
                    );
                    (on_demand_engine(), Allocator::OnDemand)
                }
            },
            Allocator::OnDemand => (on_demand_engine(), Allocator::OnDemand),
        };
        let ticker = engine.weak();
        std::thread::spawn(move || {
            while let Some(engine) = ticker.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        });
        (engine, allocator)
    })
}

fn on_demand_engine() -> Engine {
    // A configuration this minimal is always accepted; failing here means a
    // broken wasmtime build, where nothing else could work either.
    new_engine(None).unwrap_or_else(|e| panic!("cannot create the wasmtime engine: {e:#}"))
}

/// An engine with the component model and epoch deadlines, pooling for
/// `pool_instances` live instances if given.
fn new_engine(pool_instances: Option<u32>) -> anyhow::Result<Engine> {
    let mut config = wasmtime::Config::new();
    config.wasm_component_model(true);
    // Epochs let a request deadline stop a guest that never yields.
    config.epoch_interruption(true);
    if std::env::var_os("EDGEPLUG_PERFMAP").is_some() {
        // Names JIT-compiled guest code for `perf report`.
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    if let Some(instances) = pool_instances {
        let mut pool = wasmtime::PoolingAllocationConfig::new();
        // A composed worker is one component instance holding a few core
        // instances and memories per component it was made from; these
        // per-instance bounds are generous for any composition.
        pool.total_component_instances(instances)
            .max_core_instances_per_component(POOL_CORE_INSTANCES_PER_COMPONENT)
            .max_memories_per_component(POOL_MEMORIES_PER_COMPONENT)
            .max_tables_per_component(POOL_TABLES_PER_COMPONENT)
            .total_core_instances(instances.saturating_mul(POOL_CORE_INSTANCES_PER_COMPONENT))
            .total_memories(instances.saturating_mul(POOL_MEMORIES_PER_COMPONENT))
            .total_tables(instances.saturating_mul(POOL_TABLES_PER_COMPONENT))
            .total_stacks(instances)
            // Reset a finished instance's memory by zeroing only the pages
            // it dirtied (found with Linux's PAGEMAP_SCAN), instead of
            // unmapping it: the next instance in the slot takes no page
            // faults and no TLB shootdown. Without PAGEMAP_SCAN wasmtime
            // falls back to madvise beyond a small memset.
            .pagemap_scan(wasmtime::Enabled::Auto)
            .linear_memory_keep_resident(POOL_KEEP_RESIDENT)
            .table_keep_resident(POOL_KEEP_RESIDENT);
        config.allocation_strategy(pool);
    }
    Engine::new(&config).map_err(anyhow::Error::from)
}

const POOL_CORE_INSTANCES_PER_COMPONENT: u32 = 32;
/// Bytes of each memory and table kept resident between instances.
const POOL_KEEP_RESIDENT: usize = 8 * 1024 * 1024;
const POOL_MEMORIES_PER_COMPONENT: u32 = 8;
const POOL_TABLES_PER_COMPONENT: u32 = 16;

/// How often the engine's epoch advances: the granularity of deadlines.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Compiles the component at `path`, reusing an earlier compilation of the
/// same unchanged file in this process.
pub fn load_component(path: impl AsRef<Path>) -> anyhow::Result<Component> {
    static CACHE: OnceLock<Mutex<HashMap<(PathBuf, SystemTime), Component>>> = OnceLock::new();
    let path = path.as_ref();
    let modified = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .with_context(|| format!("cannot read component {}", path.display()))?;
    let key = (path.to_path_buf(), modified);
    let cache = CACHE.get_or_init(Default::default);
    if let Some(component) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(component.clone());
    }
    let component = Component::from_file(engine(), path)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("cannot compile component {}", path.display()))?;
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, component.clone());
    Ok(component)
}

/// Builds the linker with every interface the host provides: WASI p2,
/// wasi-http, `wasi:keyvalue/{store,atomics}`, `wasi:config/store`, and the
/// host fakes of `edgeplug:worker/{counter,uploader}`.
pub fn linker() -> anyhow::Result<Linker<HostState>> {
    let mut linker = Linker::<HostState>::new(engine());
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    use bindings::counter::wasi::{config, keyvalue};
    keyvalue::store::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
    keyvalue::atomics::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
    config::store::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
    use bindings::entry::edgeplug::worker::{counter, uploader};
    counter::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
    uploader::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
    crate::fastedge::add_to_linker(&mut linker)?;
    Ok(linker)
}

/// Everything a new instance's [`HostState`] is made from. Clones share the
/// KV store, the outbound routes and the fakes; config is copied into each
/// instance when it starts, so a change applies from the next request on.
#[derive(Clone)]
pub struct HostContext {
    kv: Arc<dyn KvBackend>,
    fake_kv: Option<FakeKv>,
    config: Arc<Mutex<ConfigValues>>,
    outbound: OutboundHttp,
    counter: FakeCounter,
    uploader: FakeUploader,
    inherit_stdio: bool,
    pop: Pop,
    pops: Option<MultiPopKv>,
    fastedge: FastEdge,
    max_memory_bytes: Option<usize>,
    request_timeout: Option<Duration>,
    peak_memory: Arc<PeakMemory>,
    next: OutboundHttp,
    wall_clock: Option<GuestWallClock>,
}

impl std::fmt::Debug for HostContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostContext").finish_non_exhaustive()
    }
}

impl Default for HostContext {
    fn default() -> Self {
        Self::new()
    }
}

impl HostContext {
    /// A context with a fresh in-memory [`FakeKv`], no config and no routes.
    pub fn new() -> Self {
        let fake = FakeKv::new();
        Self {
            kv: Arc::new(fake.clone()),
            fake_kv: Some(fake),
            config: Default::default(),
            outbound: OutboundHttp::new(),
            counter: FakeCounter::default(),
            uploader: FakeUploader::default(),
            inherit_stdio: true,
            pop: Pop::default(),
            pops: None,
            fastedge: FastEdge::new(),
            max_memory_bytes: None,
            request_timeout: None,
            peak_memory: Default::default(),
            next: OutboundHttp::new(),
            wall_clock: None,
        }
    }

    /// Uses `kv` as the `wasi:keyvalue` store.
    pub fn with_kv(mut self, kv: Arc<dyn KvBackend>) -> Self {
        self.kv = kv;
        self.fake_kv = None;
        self.pops = None;
        self
    }

    /// Uses the fake `kv` (keeping its log and faults reachable through
    /// [`HostContext::fake_kv`]).
    pub fn with_fake_kv(mut self, kv: FakeKv) -> Self {
        self.kv = Arc::new(kv.clone());
        self.fake_kv = Some(kv);
        self.pops = None;
        self
    }

    /// Whether guests' stdout and stderr go to the host's (on by default).
    pub fn with_inherited_stdio(mut self, inherit: bool) -> Self {
        self.inherit_stdio = inherit;
        self
    }

    /// Gives each request `timeout` to answer: a guest still running then
    /// is interrupted (its instance torn down), and the host answers 504.
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
    pub fn with_memory_limit(mut self, bytes: usize) -> Self {
        self.max_memory_bytes = Some(bytes);
        self
    }

    /// The most linear memory guests have used so far.
    pub fn peak_memory(&self) -> &PeakMemory {
        &self.peak_memory
    }

    /// Uses `pops` as the `wasi:keyvalue` store, seen from this context's
    /// PoP (see [`HostContext::at_pop`]).
    pub fn with_pops(mut self, pops: MultiPopKv) -> Self {
        self.kv = Arc::new(pops.at(self.pop.clone()));
        self.fake_kv = None;
        self.pops = Some(pops);
        self
    }

    /// Uses `fastedge` as the fake FastEdge platform behind `gcore:fastedge/*`.
    pub fn with_fastedge(mut self, fastedge: FastEdge) -> Self {
        self.fastedge = fastedge;
        self
    }

    /// The same context, for requests that land on `pop`: the FastEdge fakes
    /// (and a [`MultiPopKv`] set with [`HostContext::with_pops`]) answer as
    /// that PoP. Everything else stays shared.
    pub fn at_pop(&self, pop: Pop) -> Self {
        let mut context = self.clone();
        if let Some(pops) = &self.pops {
            context.kv = Arc::new(pops.at(pop.clone()));
        }
        context.pop = pop;
        context
    }

    /// The PoP requests land on.
    pub fn pop(&self) -> &Pop {
        &self.pop
    }

    /// The fake FastEdge platform behind `gcore:fastedge/*`.
    pub fn fastedge(&self) -> &FastEdge {
        &self.fastedge
    }

    /// The fake KV in use, if the store is one.
    pub fn fake_kv(&self) -> Option<&FakeKv> {
        self.fake_kv.as_ref()
    }

    /// The KV store in use.
    pub fn kv(&self) -> &Arc<dyn KvBackend> {
        &self.kv
    }

    /// The outgoing-HTTP routes and log.
    pub fn outbound(&self) -> &OutboundHttp {
        &self.outbound
    }

    /// The fake behind an imported `wasi:http/incoming-handler` (a
    /// middleware's next handler), for components that import one: its
    /// routes answer the requests the guest hands on, and its log records
    /// them. [`HttpWorker`](crate::HttpWorker) links it.
    pub fn next_handler(&self) -> &OutboundHttp {
        &self.next
    }

    /// Sets the wall clock guests read to `start` plus the time on `clock`:
    /// with [`SimClock::manual`], advancing `clock` moves guest time without
    /// sleeping. By default guests read the real time.
    pub fn with_wall_clock(mut self, start: SystemTime, clock: SimClock) -> Self {
        self.wall_clock = Some(GuestWallClock::new(start, clock));
        self
    }

    /// The host's `edgeplug:worker/counter`, for components that import it.
    pub fn fake_counter(&self) -> &FakeCounter {
        &self.counter
    }

    /// The host's `edgeplug:worker/uploader`, for components that import it.
    pub fn fake_uploader(&self) -> &FakeUploader {
        &self.uploader
    }

    /// Sets one config value for the instances started from now on.
    pub fn set_config(&self, key: impl Into<String>, value: impl Into<String>) {
        self.config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .set(key, value);
    }

    /// Removes one config value for the instances started from now on.
    pub fn remove_config(&self, key: &str) {
        self.config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    /// Replaces every config value.
    pub fn replace_config(&self, values: ConfigValues) {
        *self.config.lock().unwrap_or_else(|e| e.into_inner()) = values;
    }

    /// A snapshot of the config values.
    pub fn config(&self) -> ConfigValues {
        self.config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A new store for one instance.
    pub fn new_store(&self) -> Store<HostState> {
        let mut wasi = WasiCtx::builder();
        if self.inherit_stdio {
            wasi.inherit_stdout().inherit_stderr();
        }
        if let Some(clock) = &self.wall_clock {
            wasi.wall_clock(clock.clone());
        }
        let state = HostState {
            table: Default::default(),
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            hooks: self.outbound.clone(),
            kv: Arc::clone(&self.kv),
            config: self.config(),
            counter: self.counter.clone(),
            uploader: self.uploader.clone(),
            pop: self.pop.clone(),
            fastedge: self.fastedge.clone(),
            limits: GuestLimits::new(self.max_memory_bytes, Arc::clone(&self.peak_memory)),
        };
        let mut store = Store::new(engine(), state);
        store.limiter(|state| &mut state.limits);
        // Every epoch tick the guest yields to the executor (so a guest
        // that computes without pause shares its thread and lets host-side
        // timers fire), and past the request's deadline it is interrupted:
        // a deadline precise to one tick, however late the ticker runs.
        let deadline = self.request_timeout.map(|timeout| Instant::now() + timeout);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            Ok(match deadline {
                Some(deadline) if Instant::now() >= deadline => UpdateDeadline::Interrupt,
                _ => UpdateDeadline::Yield(1),
            })
        });
        store
    }
}
