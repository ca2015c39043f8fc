//! The wall clock guests read (`wasi:clocks/wall-clock`), when a test sets
//! it: a fixed start plus a [`SimClock`], so moving the clock forward moves
//! the guest's time (a rate-limit window rolling over, a cache entry going
//! stale) without sleeping.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::kv::SimClock;

/// A wall clock at `start` plus the time on a [`SimClock`].
#[derive(Debug, Clone)]
pub(crate) struct GuestWallClock {
    since_epoch: Duration,
    clock: SimClock,
}

impl GuestWallClock {
    /// A clock reading `start` when `clock` reads zero. Times before 1970
    /// read as 1970.
    pub(crate) fn new(start: SystemTime, clock: SimClock) -> Self {
        let since_epoch = start.duration_since(UNIX_EPOCH).unwrap_or_default();
        Self { since_epoch, clock }
    }
}

impl wasmtime_wasi::HostWallClock for GuestWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }

    fn now(&self) -> Duration {
        self.since_epoch + self.clock.now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime_wasi::HostWallClock as _;

    #[test]
    fn the_guest_clock_moves_with_the_sim_clock() {
        let clock = SimClock::manual();
        let start = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let wall = GuestWallClock::new(start, clock.clone());
        assert_eq!(wall.now(), Duration::from_secs(1_800_000_000));
        clock.advance(Duration::from_secs(61));
        assert_eq!(wall.now(), Duration::from_secs(1_800_000_061));
    }
}
