//! When to try a request again, and how long to wait first.
//!
//! Plain arithmetic over the attempt number, the time already spent and a
//! random number, so that it is tested on the host; `host` supplies the
//! clock (`wasi:clocks/monotonic-clock`) and the randomness
//! (`wasi:random/random`).
//!
//! Only idempotent steps are retried: `CreateMultipartUpload`, each
//! `UploadPart`, `CompleteMultipartUpload`, `AbortMultipartUpload` and a
//! single `PUT` whose body the component holds in memory. The policy is
//! AWS's "capped exponential backoff with full jitter": before retry `n`
//! (1-based) it sleeps a uniformly random time in
//! `[0, min(max_backoff, base * 2^(n-1))]`.

/// Default `s3-retry-max-attempts`: tries per step, the first included.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 4;
/// Default `s3-retry-base-ms`.
pub const DEFAULT_BASE_MS: u64 = 100;
/// Default `s3-retry-max-backoff-ms`.
pub const DEFAULT_MAX_BACKOFF_MS: u64 = 2_000;
/// Default `s3-retry-deadline-ms`.
pub const DEFAULT_DEADLINE_MS: u64 = 30_000;

/// How one step is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per step, the first one included (1 = never retry).
    pub max_attempts: u32,
    /// The backoff before the first retry is at most this long.
    pub base_ms: u64,
    /// No backoff is longer than this.
    pub max_backoff_ms: u64,
    /// No retry starts (or sleeps past) this long after the step's first
    /// attempt started. The first attempt always runs.
    pub deadline_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            base_ms: DEFAULT_BASE_MS,
            max_backoff_ms: DEFAULT_MAX_BACKOFF_MS,
            deadline_ms: DEFAULT_DEADLINE_MS,
        }
    }
}

/// Whether an answer from the store is worth another attempt: 500, 502,
/// 503 and 504, and S3's `SlowDown` / `InternalError` codes whatever the
/// status (S3 may send either inside a `200` to `CompleteMultipartUpload`).
/// Never any other 4xx: the same request would be refused again.
pub fn status_is_retryable(status: u16, code: &str) -> bool {
    matches!(status, 500 | 502 | 503 | 504) || matches!(code, "SlowDown" | "InternalError")
}

impl RetryPolicy {
    /// The upper bound of the backoff before retry `retry` (1-based).
    pub fn backoff_cap_ms(&self, retry: u32) -> u64 {
        let exponent = retry.saturating_sub(1).min(63);
        self.base_ms
            .saturating_mul(1u64 << exponent)
            .min(self.max_backoff_ms)
    }

    /// After `attempts_made` failed attempts, `elapsed_ms` after the first
    /// one started: the time to sleep before the next attempt, or `None` to
    /// give up. `random` is any uniformly random `u64` (the full jitter).
    pub fn next_delay_ms(&self, attempts_made: u32, elapsed_ms: u64, random: u64) -> Option<u64> {
        if attempts_made >= self.max_attempts {
            return None;
        }
        let cap = self.backoff_cap_ms(attempts_made);
        let delay = if cap == 0 { 0 } else { random % (cap + 1) };
        // Give up rather than start an attempt past the deadline.
        if elapsed_ms.saturating_add(delay) >= self.deadline_ms {
            return None;
        }
        Some(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let p = RetryPolicy::default();
        assert_eq!(
            (p.max_attempts, p.base_ms, p.max_backoff_ms, p.deadline_ms),
            (4, 100, 2_000, 30_000)
        );
    }

    #[test]
    fn which_answers_are_retried() {
        for status in [500, 502, 503, 504] {
            assert!(status_is_retryable(status, ""), "{status}");
        }
        assert!(status_is_retryable(503, "SlowDown"));
        assert!(status_is_retryable(200, "InternalError"));
        assert!(status_is_retryable(400, "SlowDown"));
        for status in [400, 401, 403, 404, 408, 409, 411, 412, 413, 429, 501] {
            assert!(!status_is_retryable(status, "AccessDenied"), "{status}");
        }
        assert!(!status_is_retryable(403, "SignatureDoesNotMatch"));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy::default();
        let caps: Vec<u64> = (1..=8).map(|n| p.backoff_cap_ms(n)).collect();
        assert_eq!(caps, [100, 200, 400, 800, 1600, 2000, 2000, 2000]);
        assert_eq!(p.backoff_cap_ms(u32::MAX), 2000, "no overflow");
    }

    #[test]
    fn full_jitter_stays_within_zero_and_the_cap() {
        let p = RetryPolicy::default();
        assert_eq!(p.next_delay_ms(1, 0, 0), Some(0));
        assert_eq!(p.next_delay_ms(1, 0, 100), Some(100));
        assert_eq!(p.next_delay_ms(1, 0, 101), Some(0));
        assert_eq!(p.next_delay_ms(3, 0, u64::MAX), Some(u64::MAX % 401));
        for random in [0, 1, 7, 12_345, u64::MAX / 3, u64::MAX] {
            for attempts in 1..4 {
                let delay = p.next_delay_ms(attempts, 0, random).unwrap();
                assert!(delay <= p.backoff_cap_ms(attempts));
            }
        }
    }

    #[test]
    fn attempts_are_bounded() {
        let p = RetryPolicy::default();
        assert!(p.next_delay_ms(3, 0, 5).is_some());
        assert_eq!(p.next_delay_ms(4, 0, 5), None);
        let never = RetryPolicy {
            max_attempts: 1,
            ..p
        };
        assert_eq!(never.next_delay_ms(1, 0, 0), None);
    }

    #[test]
    fn the_deadline_stops_retries() {
        let p = RetryPolicy::default();
        assert_eq!(p.next_delay_ms(1, 30_000, 0), None);
        assert_eq!(p.next_delay_ms(1, 29_950, 60), None, "would sleep past it");
        assert_eq!(p.next_delay_ms(1, 29_950, 10), Some(10));
    }

    #[test]
    fn zero_backoff_retries_at_once() {
        let p = RetryPolicy {
            base_ms: 0,
            ..RetryPolicy::default()
        };
        assert_eq!(p.next_delay_ms(2, 0, u64::MAX), Some(0));
    }
}
