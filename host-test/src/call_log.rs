//! Shared plumbing for the fakes: poison-tolerant locking and call logs.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, even if a test thread panicked while holding it: the fakes'
/// data stays consistent between calls, so it is still usable.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The calls a fake has seen, oldest first.
#[derive(Debug)]
pub(crate) struct CallLog<C>(Mutex<Vec<C>>);

impl<C> Default for CallLog<C> {
    fn default() -> Self {
        Self(Mutex::new(Vec::new()))
    }
}

impl<C: Clone> CallLog<C> {
    /// Appends one call.
    pub(crate) fn record(&self, call: C) {
        lock(&self.0).push(call);
    }

    /// Every call so far.
    pub(crate) fn all(&self) -> Vec<C> {
        lock(&self.0).clone()
    }

    /// How many calls match `filter`.
    pub(crate) fn count(&self, filter: impl Fn(&C) -> bool) -> usize {
        lock(&self.0).iter().filter(|call| filter(call)).count()
    }

    /// Forgets every call.
    pub(crate) fn clear(&self) {
        lock(&self.0).clear();
    }
}
