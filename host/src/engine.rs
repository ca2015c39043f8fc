//! The Wasmtime engine every worker in a process shares: its allocator
//! (pooling, with an on-demand fallback), epoch deadlines, and compiled
//! components.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use wasmtime::Engine;
use wasmtime::component::Component;

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
    // Workers are `wasi:http@0.2` components: nothing here runs guests
    // concurrently within a store (component-model async, `wasi:http@0.3`).
    // Without it a store carries no task tables, and each host or
    // cross-component call skips creating and deleting a task: measurably
    // less per request, fresh or reused.
    config.concurrency_support(false);
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
