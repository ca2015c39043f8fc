//! Guest memory accounting and limits.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The most linear memory guests have used, across instances. Shared by
/// every instance of a [`WorkerContext`](crate::WorkerContext).
#[derive(Debug, Default)]
pub struct PeakMemory {
    largest: AtomicUsize,
    total: AtomicUsize,
}

impl PeakMemory {
    /// The largest single linear memory any instance reached, in bytes.
    pub fn largest_memory(&self) -> usize {
        self.largest.load(Ordering::Relaxed)
    }

    /// The most linear memory one instance held at once, summed over its
    /// memories (a composed worker has one per component), in bytes.
    pub fn instance_total(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    /// Starts measuring afresh.
    pub fn reset(&self) {
        self.largest.store(0, Ordering::Relaxed);
        self.total.store(0, Ordering::Relaxed);
    }
}

/// The resource limiter of one instance: it records memory growth into a
/// shared [`PeakMemory`] and refuses growth past the per-memory limit.
#[derive(Debug)]
pub struct GuestLimits {
    max_memory_bytes: Option<usize>,
    instance_total: usize,
    refused: bool,
    peak: Arc<PeakMemory>,
}

impl GuestLimits {
    /// Limits for a new instance.
    pub fn new(max_memory_bytes: Option<usize>, peak: Arc<PeakMemory>) -> Self {
        Self {
            max_memory_bytes,
            instance_total: 0,
            refused: false,
            peak,
        }
    }
}

impl GuestLimits {
    /// Whether growth past the cap was refused in this instance.
    pub fn refused_growth(&self) -> bool {
        self.refused
    }

    /// Bytes of linear memory this instance holds, summed over its memories
    /// (their initial sizes included).
    pub fn memory_size(&self) -> usize {
        self.instance_total
    }
}

impl wasmtime::ResourceLimiter for GuestLimits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if self.max_memory_bytes.is_some_and(|max| desired > max) {
            // Refusing makes `memory.grow` return -1: the guest's allocator
            // fails, the guest traps, and the host answers 500. A guest that
            // copes (a fallible reserve) still never gets its instance reused.
            self.refused = true;
            return Ok(false);
        }
        self.instance_total += desired.saturating_sub(current);
        self.peak.largest.fetch_max(desired, Ordering::Relaxed);
        self.peak
            .total
            .fetch_max(self.instance_total, Ordering::Relaxed);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(true)
    }
}
