//! Mapping `wasi:keyvalue/atomics.increment` (`u64` delta and result) onto
//! `cache-sync.incr` (`s64` delta and result).
//!
//! Counter values are ASCII decimal in both worlds: `incr` stores the number
//! as text, so `get` reads back what any other tool would. A delta above
//! `i64::MAX` cannot be sent, and a negative stored result cannot be
//! returned: both are errors, never a wrap-around.

use crate::error::KvError;

/// The `incr` delta for an `increment` delta.
pub fn to_incr_delta(delta: u64) -> Result<i64, KvError> {
    i64::try_from(delta).map_err(|_| {
        KvError::Other(format!(
            "increment delta {delta} is above {}, the largest FastEdge cache-sync can add",
            i64::MAX
        ))
    })
}

/// The `increment` result for what `incr` returned.
pub fn from_incr_result(value: i64) -> Result<u64, KvError> {
    u64::try_from(value).map_err(|_| {
        KvError::Other(format!(
            "counter value {value} is negative, which wasi:keyvalue cannot represent"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_up_to_i64_max_pass() {
        assert_eq!(to_incr_delta(0), Ok(0));
        assert_eq!(to_incr_delta(5), Ok(5));
        assert_eq!(to_incr_delta(i64::MAX as u64), Ok(i64::MAX));
        assert!(to_incr_delta(i64::MAX as u64 + 1).is_err());
        assert!(to_incr_delta(u64::MAX).is_err());
    }

    #[test]
    fn negative_results_are_errors() {
        assert_eq!(from_incr_result(0), Ok(0));
        assert_eq!(from_incr_result(i64::MAX), Ok(i64::MAX as u64));
        assert!(from_incr_result(-1).is_err());
    }
}
