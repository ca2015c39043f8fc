//! Instance reuse: one instance answering several requests in turn, the
//! shape of `wasmtime serve --max-instance-reuse-count`.
//!
//! A fresh instance per request is the edge's isolation model and stays the
//! default. Reuse trades some of it for speed: a guest's own globals (a
//! `static`, its allocator's heap) survive from one request to the next on
//! the same instance. What the host hands a request (its headers, body,
//! resources, deadline and config) is never carried over; see
//! `docs/serve.md`, "Reusing instances".

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::sync::lock;

/// When an [`HttpWorker`](crate::HttpWorker) may run a request in an
/// instance that already answered one, and when it must drop it instead.
///
/// An instance is never reused after a trap, a missed deadline, an answer
/// that was not a response, or a refused memory growth (the guest hit the
/// memory cap, even if it coped). Besides those it is retired after
/// [`max_requests`](Self::max_requests) requests, when its memory has grown
/// by more than [`max_memory_growth`](Self::max_memory_growth) bytes since
/// it started, or when it has waited idle for
/// [`idle_timeout`](Self::idle_timeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct InstanceReuse {
    /// How many requests one instance answers at most; 1 means no reuse.
    pub max_requests: u32,
    /// How long an instance may wait for its next request before it is
    /// dropped (its memory returned to the pool).
    pub idle_timeout: Duration,
    /// How many bytes of linear memory an instance may have grown by since
    /// it started and still be reused.
    pub max_memory_growth: usize,
    /// How many instances may wait idle at once; more are dropped, oldest
    /// first. Set it to the number of requests served at once.
    pub max_idle: usize,
}

impl InstanceReuse {
    /// A fresh instance for every request: the default.
    pub const OFF: Self = Self {
        max_requests: 1,
        idle_timeout: Duration::from_secs(30),
        max_memory_growth: 64 << 20,
        max_idle: 128,
    };

    /// Up to `max_requests` requests per instance (0 is read as 1), with a
    /// 30 s idle timeout, 64 MiB of memory growth and 128 idle instances.
    pub fn up_to(max_requests: u32) -> Self {
        Self {
            max_requests: max_requests.max(1),
            ..Self::OFF
        }
    }

    /// Sets the idle timeout.
    #[must_use]
    pub fn with_idle_timeout(mut self, idle_timeout: Duration) -> Self {
        self.idle_timeout = idle_timeout;
        self
    }

    /// Sets the memory growth past which an instance is not reused.
    #[must_use]
    pub fn with_max_memory_growth(mut self, bytes: usize) -> Self {
        self.max_memory_growth = bytes;
        self
    }

    /// Sets how many instances may wait idle at once.
    #[must_use]
    pub fn with_max_idle(mut self, max_idle: usize) -> Self {
        self.max_idle = max_idle;
        self
    }

    /// Whether an instance may answer more than one request.
    pub fn enabled(&self) -> bool {
        self.max_requests > 1 && self.max_idle > 0
    }

    /// Why an instance that answered cleanly, `served` requests so far, in
    /// the state `health` tells, must not take another; `None` if it may.
    pub fn retire_reason(&self, served: u32, health: InstanceHealth) -> Option<Retired> {
        if health.refused_growth {
            Some(Retired::MemoryCapHit)
        } else if health.memory_growth > self.max_memory_growth {
            Some(Retired::MemoryGrew)
        } else if served >= self.max_requests {
            Some(Retired::ServedEnough)
        } else {
            None
        }
    }
}

impl Default for InstanceReuse {
    fn default() -> Self {
        Self::OFF
    }
}

/// What the host knows of an instance's memory after a request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InstanceHealth {
    /// The host refused to grow one of its memories (the memory cap).
    pub refused_growth: bool,
    /// Bytes its linear memories have grown by since it started.
    pub memory_growth: usize,
}

/// Why an instance that answered cleanly was not kept for another request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retired {
    /// It answered as many requests as one instance may.
    ServedEnough,
    /// The memory cap refused it memory.
    MemoryCapHit,
    /// Its memory grew past the bound.
    MemoryGrew,
}

/// How a worker's instances have been used so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InstanceStats {
    /// Instances made.
    pub started: u64,
    /// Requests answered by an instance that had answered one before.
    pub reused: u64,
    /// Instances waiting for a request now.
    pub idle: usize,
}

/// Instances waiting for their next request, newest on top: taking the
/// most recently used one finds its memory warm in the CPU's caches.
/// Instances idle past the timeout are dropped when met, and by a
/// background sweeper, so an idle server gives their memory back.
pub(crate) struct IdleInstances<T> {
    waiting: Mutex<Vec<Waiting<T>>>,
    idle_timeout: Duration,
    max_idle: usize,
    /// Wakes the sweeper when an instance starts waiting, and when the pool
    /// is dropped (so that it ends).
    put_or_dropped: Arc<Notify>,
    sweeper_started: AtomicBool,
}

struct Waiting<T> {
    since: Instant,
    instance: T,
}

impl<T: Send + 'static> IdleInstances<T> {
    /// An empty pool.
    pub(crate) fn new(idle_timeout: Duration, max_idle: usize) -> Self {
        Self {
            waiting: Mutex::new(Vec::new()),
            idle_timeout,
            max_idle,
            put_or_dropped: Arc::new(Notify::new()),
            sweeper_started: AtomicBool::new(false),
        }
    }

    /// How many instances wait now.
    pub(crate) fn len(&self) -> usize {
        lock(&self.waiting).len()
    }

    /// The most recently used instance that has not waited too long.
    pub(crate) fn take(&self) -> Option<T> {
        self.take_at(Instant::now())
    }

    fn take_at(&self, now: Instant) -> Option<T> {
        let (taken, stale) = {
            let mut waiting = lock(&self.waiting);
            let stale = self.drain_stale(&mut waiting, now);
            (waiting.pop().map(|w| w.instance), stale)
        };
        // Dropping an instance unmaps memory: outside the lock.
        drop(stale);
        taken
    }

    /// Lets `instance` wait for a request, dropping the oldest one when
    /// `max_idle` already wait. Starts the sweeper on first use (it needs
    /// the Tokio runtime this is called on).
    pub(crate) fn put(self: &Arc<Self>, instance: T) {
        let was_empty = self.put_at(instance, Instant::now());
        if !self.sweeper_started.swap(true, Ordering::Relaxed) {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    runtime.spawn(sweep_while_alive(
                        Arc::downgrade(self),
                        Arc::clone(&self.put_or_dropped),
                    ));
                }
                // No runtime: stale instances still go when next met.
                Err(_) => self.sweeper_started.store(false, Ordering::Relaxed),
            }
        }
        // The sweeper waits for a put only when nothing waited; otherwise it
        // sleeps until the oldest is due. Waking it on every put would cost
        // a task wake per request.
        if was_empty {
            self.put_or_dropped.notify_one();
        }
    }

    /// Adds `instance`; returns whether none waited before.
    fn put_at(&self, instance: T, now: Instant) -> bool {
        let (evicted, was_empty) = {
            let mut waiting = lock(&self.waiting);
            let was_empty = waiting.is_empty();
            let evicted = if waiting.len() >= self.max_idle && !waiting.is_empty() {
                Some(waiting.remove(0))
            } else {
                None
            };
            if self.max_idle > 0 {
                waiting.push(Waiting {
                    since: now,
                    instance,
                });
            }
            (evicted, was_empty)
        };
        drop(evicted);
        was_empty
    }

    /// Drops every instance that has waited past the timeout; returns when
    /// the oldest remaining one will be due.
    fn sweep_at(&self, now: Instant) -> Option<Instant> {
        let (stale, next_due) = {
            let mut waiting = lock(&self.waiting);
            let stale = self.drain_stale(&mut waiting, now);
            let next_due = waiting.first().map(|w| w.since + self.idle_timeout);
            (stale, next_due)
        };
        drop(stale);
        next_due
    }

    /// The oldest wait at the front: stale ones form a prefix.
    fn drain_stale(&self, waiting: &mut Vec<Waiting<T>>, now: Instant) -> Vec<Waiting<T>> {
        let fresh_from = waiting
            .iter()
            .position(|w| now.saturating_duration_since(w.since) < self.idle_timeout)
            .unwrap_or(waiting.len());
        waiting.drain(..fresh_from).collect()
    }
}

impl<T> Drop for IdleInstances<T> {
    fn drop(&mut self) {
        self.put_or_dropped.notify_one();
    }
}

/// Drops idle instances as they pass the timeout, sleeping in between;
/// ends once the pool is gone.
async fn sweep_while_alive<T: Send + 'static>(pool: Weak<IdleInstances<T>>, wake: Arc<Notify>) {
    loop {
        let next_due = match pool.upgrade() {
            Some(pool) => pool.sweep_at(Instant::now()),
            None => return,
        };
        match next_due {
            Some(due) => {
                tokio::select! {
                    () = tokio::time::sleep_until(due.into()) => {}
                    // Only a drop of the pool wakes it here: it must end
                    // this task promptly.
                    () = wake.notified() => {}
                }
            }
            None => wake.notified().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(max_idle: usize) -> IdleInstances<u32> {
        IdleInstances::new(Duration::from_secs(10), max_idle)
    }

    #[test]
    fn the_most_recently_used_instance_is_taken_first() {
        let pool = pool(4);
        let now = Instant::now();
        pool.put_at(1, now);
        pool.put_at(2, now);
        assert_eq!(pool.take_at(now), Some(2));
        assert_eq!(pool.take_at(now), Some(1));
        assert_eq!(pool.take_at(now), None);
    }

    #[test]
    fn an_instance_idle_past_the_timeout_is_never_taken() {
        let pool = pool(4);
        let start = Instant::now();
        pool.put_at(1, start);
        pool.put_at(2, start + Duration::from_secs(5));
        let later = start + Duration::from_secs(12);
        assert_eq!(pool.take_at(later), Some(2));
        assert_eq!(pool.take_at(later), None, "1 waited 12 s of a 10 s timeout");
        assert_eq!(pool.len(), 0);
    }

    #[test]
    fn a_sweep_drops_stale_instances_and_says_when_the_next_is_due() {
        let pool = pool(4);
        let start = Instant::now();
        pool.put_at(1, start);
        pool.put_at(2, start + Duration::from_secs(4));
        let due = pool.sweep_at(start + Duration::from_secs(10));
        assert_eq!(pool.len(), 1);
        assert_eq!(due, Some(start + Duration::from_secs(14)));
        assert_eq!(pool.sweep_at(start + Duration::from_secs(14)), None);
        assert_eq!(pool.len(), 0);
    }

    #[test]
    fn past_max_idle_the_oldest_instance_is_dropped() {
        let pool = pool(2);
        let now = Instant::now();
        pool.put_at(1, now);
        pool.put_at(2, now);
        pool.put_at(3, now);
        assert_eq!(pool.len(), 2);
        assert_eq!(pool.take_at(now), Some(3));
        assert_eq!(pool.take_at(now), Some(2));
    }

    #[test]
    fn retire_rules_come_in_order_of_what_matters_most() {
        let reuse = InstanceReuse::up_to(3).with_max_memory_growth(1000);
        let healthy = InstanceHealth::default();
        assert_eq!(reuse.retire_reason(1, healthy), None);
        assert_eq!(reuse.retire_reason(2, healthy), None);
        assert_eq!(reuse.retire_reason(3, healthy), Some(Retired::ServedEnough));
        let grew = InstanceHealth {
            refused_growth: false,
            memory_growth: 1001,
        };
        assert_eq!(reuse.retire_reason(1, grew), Some(Retired::MemoryGrew));
        let capped = InstanceHealth {
            refused_growth: true,
            memory_growth: 0,
        };
        assert_eq!(reuse.retire_reason(1, capped), Some(Retired::MemoryCapHit));
    }

    #[test]
    fn reuse_is_off_by_default_and_for_one_request() {
        assert!(!InstanceReuse::default().enabled());
        assert!(!InstanceReuse::up_to(0).enabled());
        assert!(!InstanceReuse::up_to(1).enabled());
        assert!(InstanceReuse::up_to(2).enabled());
        assert!(!InstanceReuse::up_to(2).with_max_idle(0).enabled());
    }

    #[tokio::test]
    async fn the_sweeper_drops_instances_once_their_timeout_passes() {
        let pool = Arc::new(IdleInstances::new(Duration::from_millis(1), 4));
        let (dropped_tx, mut dropped_rx) = tokio::sync::mpsc::unbounded_channel();
        pool.put(SignalsDrop(dropped_tx));
        // No sleep: the sweeper's drop is the signal, waited on with a
        // generous give-up time.
        let signal = tokio::time::timeout(Duration::from_secs(60), dropped_rx.recv()).await;
        assert!(matches!(signal, Ok(Some(()))), "the sweeper never ran");
        assert_eq!(pool.len(), 0);
    }

    struct SignalsDrop(tokio::sync::mpsc::UnboundedSender<()>);

    impl Drop for SignalsDrop {
        fn drop(&mut self) {
            let _ = self.0.send(());
        }
    }
}
