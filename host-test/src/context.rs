//! [`HostContext`]: the host's [`WorkerContext`] plus the test kit's fakes.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use edgeplug_host::{
    ConfigValues, HostState, Instances, KvBackend, OutboundHttp, PeakMemory, WorkerContext,
};
use wasmtime::Store;
use wasmtime::component::Linker;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

use crate::clock::GuestWallClock;
use crate::fakes::{FakeCounter, FakeUploader};
use crate::fastedge::FastEdge;
use crate::kv::{FakeKv, MultiPopKv, Pop, SimClock};

/// The most of guests' stderr [`HostContext::with_captured_stderr`] keeps.
const CAPTURED_STDERR_BYTES: usize = 1024 * 1024;

/// Everything a new instance's [`HostState`] is made from, for tests: the
/// host's [`WorkerContext`] with a [`FakeKv`] as its store and the fake
/// [`FastEdge`] behind `gcore:fastedge/*`, plus fakes of the
/// `edgeplug:worker/{counter,uploader}` imports and of a middleware's next
/// handler. Clones share the KV store, the outbound routes and the fakes;
/// config is copied into each instance when it starts, so a change applies
/// from the next request on.
#[derive(Clone)]
pub struct HostContext {
    base: WorkerContext,
    fake_kv: Option<FakeKv>,
    pop: Pop,
    pops: Option<MultiPopKv>,
    fastedge: FastEdge,
    counter: FakeCounter,
    uploader: FakeUploader,
    next: OutboundHttp,
    wall_clock: Option<GuestWallClock>,
    stderr: Option<MemoryOutputPipe>,
}

impl std::fmt::Debug for HostContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostContext")
            .field("pop", &self.pop)
            .finish_non_exhaustive()
    }
}

impl Default for HostContext {
    fn default() -> Self {
        Self::new()
    }
}

impl HostContext {
    /// A context with a fresh in-memory [`FakeKv`], a fresh [`FastEdge`],
    /// no config and no routes.
    pub fn new() -> Self {
        let fake = FakeKv::new();
        let pop = Pop::default();
        let fastedge = FastEdge::new();
        let base = WorkerContext::new()
            .with_kv(Arc::new(fake.clone()))
            .with_fastedge(Arc::new(fastedge.at(pop.clone())));
        Self {
            base,
            fake_kv: Some(fake),
            pop,
            pops: None,
            fastedge,
            counter: FakeCounter::default(),
            uploader: FakeUploader::default(),
            next: OutboundHttp::new(),
            wall_clock: None,
            stderr: None,
        }
    }

    /// Uses `kv` as the `wasi:keyvalue` store.
    pub fn with_kv(mut self, kv: Arc<dyn KvBackend>) -> Self {
        self.base = self.base.with_kv(kv);
        self.fake_kv = None;
        self.pops = None;
        self
    }

    /// Uses the fake `kv` (keeping its log and faults reachable through
    /// [`HostContext::fake_kv`]).
    pub fn with_fake_kv(mut self, kv: FakeKv) -> Self {
        self.base = self.base.with_kv(Arc::new(kv.clone()));
        self.fake_kv = Some(kv);
        self.pops = None;
        self
    }

    /// Whether guests' stdout and stderr go to the host's (on by default).
    pub fn with_inherited_stdio(mut self, inherit: bool) -> Self {
        self.base = self.base.with_inherited_stdio(inherit);
        self
    }

    /// Gives each request `timeout` to answer: a guest still running then
    /// is interrupted (its instance torn down), and the host answers 504.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.base = self.base.with_request_timeout(timeout);
        self
    }

    /// The request deadline, if any.
    pub fn request_timeout(&self) -> Option<Duration> {
        self.base.request_timeout()
    }

    /// Caps each guest linear memory at `bytes`: growth past it fails, the
    /// guest traps, and the host keeps serving.
    pub fn with_memory_limit(mut self, bytes: usize) -> Self {
        self.base = self.base.with_memory_limit(bytes);
        self
    }

    /// The most linear memory guests have used so far.
    pub fn peak_memory(&self) -> &PeakMemory {
        self.base.peak_memory()
    }

    /// Uses `pops` as the `wasi:keyvalue` store, seen from this context's
    /// PoP (see [`HostContext::at_pop`]).
    pub fn with_pops(mut self, pops: MultiPopKv) -> Self {
        self.base = self.base.with_kv(Arc::new(pops.at(self.pop.clone())));
        self.fake_kv = None;
        self.pops = Some(pops);
        self
    }

    /// Uses `fastedge` as the fake FastEdge platform behind `gcore:fastedge/*`.
    pub fn with_fastedge(mut self, fastedge: FastEdge) -> Self {
        self.base = self
            .base
            .with_fastedge(Arc::new(fastedge.at(self.pop.clone())));
        self.fastedge = fastedge;
        self
    }

    /// The same context, for requests that land on `pop`: the FastEdge fakes
    /// (and a [`MultiPopKv`] set with [`HostContext::with_pops`]) answer as
    /// that PoP. Everything else stays shared.
    pub fn at_pop(&self, pop: Pop) -> Self {
        let mut context = self.clone();
        if let Some(pops) = &self.pops {
            context.base = context.base.with_kv(Arc::new(pops.at(pop.clone())));
        }
        context.base = context
            .base
            .with_fastedge(Arc::new(self.fastedge.at(pop.clone())));
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
        self.base.kv()
    }

    /// The outgoing-HTTP routes and log.
    pub fn outbound(&self) -> &OutboundHttp {
        self.base.outbound()
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

    /// Collects what guests write to stderr (up to 1 MiB, in place of the
    /// host's stderr), for [`HostContext::guest_stderr`] to read: a panic's
    /// message, say.
    pub fn with_captured_stderr(mut self) -> Self {
        self.stderr = Some(MemoryOutputPipe::new(CAPTURED_STDERR_BYTES));
        self
    }

    /// What guests wrote to stderr since [`HostContext::with_captured_stderr`]
    /// (empty without it), as text.
    pub fn guest_stderr(&self) -> String {
        self.stderr
            .as_ref()
            .map(|pipe| String::from_utf8_lossy(&pipe.contents()).into_owned())
            .unwrap_or_default()
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
        self.base.set_config(key, value);
    }

    /// Removes one config value for the instances started from now on.
    pub fn remove_config(&self, key: &str) {
        self.base.remove_config(key);
    }

    /// Replaces every config value.
    pub fn replace_config(&self, values: ConfigValues) {
        self.base.replace_config(values);
    }

    /// A snapshot of the config values.
    pub fn config(&self) -> ConfigValues {
        self.base.config()
    }

    /// The host's context underneath, as a server would run it.
    pub fn worker_context(&self) -> &WorkerContext {
        &self.base
    }

    /// A new store for one instance.
    pub fn new_store(&self) -> Store<HostState> {
        let mut extensions = http::Extensions::new();
        extensions.insert(self.counter.clone());
        extensions.insert(self.uploader.clone());
        let clock = self.wall_clock.clone();
        let stderr = self.stderr.clone();
        self.base.new_store_with(
            move |wasi| {
                if let Some(clock) = clock {
                    wasi.wall_clock(clock);
                }
                if let Some(stderr) = stderr {
                    wasi.stderr(stderr);
                }
            },
            extensions,
        )
    }
}

impl Instances for HostContext {
    fn new_store(&self) -> Store<HostState> {
        HostContext::new_store(self)
    }

    fn request_timeout(&self) -> Option<Duration> {
        self.base.request_timeout()
    }

    fn linker(&self) -> anyhow::Result<Linker<HostState>> {
        let mut linker = crate::linker()?;
        crate::next_handler::add_to_linker(&mut linker, self.next.clone())?;
        Ok(linker)
    }
}
