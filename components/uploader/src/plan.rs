//! Choosing between one `PUT` and a multipart upload, and sizing the parts.
//!
//! - A body of known length up to `s3-multipart-threshold` (default 16 MiB)
//!   goes as one `PUT`. The component reads it into memory first, so that it
//!   can send its SHA-256 and replay it on a retry: memory is bounded by the
//!   threshold.
//! - A longer body, or one of unknown length (a chunked request), goes
//!   multipart, two parts in memory at a time (the one being sent and the
//!   next, read meanwhile): memory is bounded by twice the part size.
//! - Parts are `s3-part-size` (default 8 MiB, 5 MiB to 5 GiB). S3 allows
//!   10,000 parts, so a known length that would need more grows the part
//!   size (in whole MiB) until it fits. An unknown length cannot do that:
//!   its cap is 10,000 × the part size (78.1 GiB by default), and a longer
//!   body fails with `too-large` (of that cap) and is aborted.
//! - A body of unknown length that turns out to be empty is stored with a
//!   `PUT` of 0 bytes, as a multipart upload cannot have 0 parts.

use crate::error::Error;

/// 1 MiB.
pub const MIB: u64 = 1024 * 1024;
/// The smallest part S3 accepts (all but the last part).
pub const MIN_PART_SIZE: u64 = 5 * MIB;
/// The largest part S3 accepts.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * MIB;
/// The most parts one upload may have.
pub const MAX_PARTS: u64 = 10_000;
/// The largest object S3 stores (5 TiB).
pub const MAX_OBJECT_BYTES: u64 = 5 * 1024 * 1024 * MIB;
/// The largest object one `PUT` may create (5 GiB).
pub const MAX_PUT_BYTES: u64 = 5 * 1024 * MIB;
/// Default `s3-multipart-threshold`.
pub const DEFAULT_THRESHOLD: u64 = 16 * MIB;
/// Default `s3-part-size`.
pub const DEFAULT_PART_SIZE: u64 = 8 * MIB;

/// How a body is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// One `PUT` of exactly `length` bytes.
    Single {
        /// The declared length.
        length: u64,
    },
    /// A multipart upload.
    Multipart {
        /// Every part but the last is exactly this long.
        part_size: u64,
        /// The declared length, when known.
        length: Option<u64>,
        /// The most bytes the body may have; more fails with
        /// `too-large(limit)`. For a known length it is the length (a
        /// longer body is the caller's `invalid-input` instead).
        limit: u64,
    },
}

/// Plans an upload of a body of `content_length` bytes (when known), which
/// may have at most `max_length` bytes (when given).
///
/// A known length above `max_length` (or above S3's 5 TiB) fails here,
/// before anything is sent.
pub fn plan(
    content_length: Option<u64>,
    max_length: Option<u64>,
    threshold: u64,
    part_size: u64,
) -> Result<Plan, Error> {
    let part_size = part_size.clamp(MIN_PART_SIZE, MAX_PART_SIZE);
    let Some(length) = content_length else {
        let cap = MAX_PARTS.saturating_mul(part_size).min(MAX_OBJECT_BYTES);
        return Ok(Plan::Multipart {
            part_size,
            length: None,
            limit: max_length.map_or(cap, |max| max.min(cap)),
        });
    };
    if let Some(max) = max_length
        && length > max
    {
        return Err(Error::TooLarge(max));
    }
    if length > MAX_OBJECT_BYTES {
        return Err(Error::TooLarge(MAX_OBJECT_BYTES));
    }
    if length <= threshold.min(MAX_PUT_BYTES) {
        return Ok(Plan::Single { length });
    }
    Ok(Plan::Multipart {
        part_size: grow_part_size(length, part_size),
        length: Some(length),
        limit: length,
    })
}

/// The smallest part size, at least `part_size` and a whole number of MiB
/// when grown, with which `length` bytes fit in [`MAX_PARTS`] parts.
pub fn grow_part_size(length: u64, part_size: u64) -> u64 {
    let needed = length.div_ceil(MAX_PARTS);
    if needed <= part_size {
        part_size
    } else {
        needed.div_ceil(MIB) * MIB
    }
}

/// How many parts `length` bytes make with parts of `part_size`.
pub fn part_count(length: u64, part_size: u64) -> u64 {
    length.div_ceil(part_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1024 * MIB;

    fn default_plan(length: Option<u64>) -> Plan {
        plan(length, None, DEFAULT_THRESHOLD, DEFAULT_PART_SIZE).unwrap()
    }

    fn multipart(length: u64) -> (u64, u64) {
        match default_plan(Some(length)) {
            Plan::Multipart { part_size, .. } => (part_size, part_count(length, part_size)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn small_known_lengths_are_one_put() {
        for length in [0, 1, 5 * MIB, DEFAULT_THRESHOLD] {
            assert_eq!(default_plan(Some(length)), Plan::Single { length });
        }
    }

    #[test]
    fn one_byte_over_the_threshold_goes_multipart() {
        assert_eq!(
            default_plan(Some(DEFAULT_THRESHOLD + 1)),
            Plan::Multipart {
                part_size: 8 * MIB,
                length: Some(DEFAULT_THRESHOLD + 1),
                limit: DEFAULT_THRESHOLD + 1
            }
        );
        // Two full parts and a last part of one byte.
        assert_eq!(multipart(DEFAULT_THRESHOLD + 1), (8 * MIB, 3));
    }

    #[test]
    fn exactly_one_part_and_one_byte_over() {
        let plan_with = |length| plan(Some(length), None, 0, DEFAULT_PART_SIZE).unwrap();
        let parts = |p: Plan, length| match p {
            Plan::Multipart { part_size, .. } => part_count(length, part_size),
            Plan::Single { .. } => 0,
        };
        assert_eq!(parts(plan_with(8 * MIB), 8 * MIB), 1);
        assert_eq!(parts(plan_with(8 * MIB + 1), 8 * MIB + 1), 2);
        assert_eq!(plan_with(0), Plan::Single { length: 0 });
    }

    #[test]
    fn one_gib_is_128_parts() {
        assert_eq!(multipart(GIB), (8 * MIB, 128));
    }

    #[test]
    fn parts_grow_to_stay_within_ten_thousand() {
        // 8 MiB × 10,000 = 78.125 GiB fits exactly.
        assert_eq!(multipart(10_000 * 8 * MIB), (8 * MIB, 10_000));
        // One byte more needs a bigger part: the next whole MiB.
        assert_eq!(multipart(10_000 * 8 * MIB + 1), (9 * MIB, 8_889));
        // 100 GiB: 10.24 MiB per part rounds up to 11 MiB.
        assert_eq!(multipart(100 * GIB), (11 * MIB, 9_310));
        // The largest object: 5 TiB in 525 MiB parts.
        let (part_size, count) = multipart(MAX_OBJECT_BYTES);
        assert_eq!(part_size, 525 * MIB);
        assert!(count <= MAX_PARTS && part_size <= MAX_PART_SIZE);
    }

    #[test]
    fn unknown_length_uses_the_configured_part_size_up_to_its_cap() {
        assert_eq!(
            default_plan(None),
            Plan::Multipart {
                part_size: 8 * MIB,
                length: None,
                limit: 10_000 * 8 * MIB
            }
        );
        assert_eq!(
            plan(None, Some(100), DEFAULT_THRESHOLD, DEFAULT_PART_SIZE).unwrap(),
            Plan::Multipart {
                part_size: 8 * MIB,
                length: None,
                limit: 100
            }
        );
        // 5 GiB parts would allow more than S3's largest object.
        assert_eq!(
            plan(None, None, 0, MAX_PART_SIZE).unwrap(),
            Plan::Multipart {
                part_size: MAX_PART_SIZE,
                length: None,
                limit: MAX_OBJECT_BYTES
            }
        );
    }

    #[test]
    fn too_large_known_lengths_fail_before_sending() {
        assert_eq!(
            plan(Some(101), Some(100), DEFAULT_THRESHOLD, DEFAULT_PART_SIZE),
            Err(Error::TooLarge(100))
        );
        assert_eq!(
            plan(Some(100), Some(100), DEFAULT_THRESHOLD, DEFAULT_PART_SIZE),
            Ok(Plan::Single { length: 100 })
        );
        assert_eq!(
            plan(Some(MAX_OBJECT_BYTES + 1), None, 0, DEFAULT_PART_SIZE),
            Err(Error::TooLarge(MAX_OBJECT_BYTES))
        );
    }

    #[test]
    fn a_single_put_never_exceeds_five_gib() {
        assert!(matches!(
            plan(Some(MAX_PUT_BYTES + 1), None, u64::MAX, DEFAULT_PART_SIZE),
            Ok(Plan::Multipart { .. })
        ));
    }
}
