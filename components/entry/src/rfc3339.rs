//! Formatting Unix seconds as an RFC 3339 UTC timestamp
//! (`2026-11-30T01:02:03Z`), for the `expires_at` of a presigned request.
//!
//! A small pure function instead of a date crate: the entry only ever needs
//! this one direction, whole seconds and UTC.

/// `9999-12-31T23:59:59Z`, the last instant with a four-digit year, which
/// RFC 3339 requires.
pub const MAX_UNIX_SECONDS: u64 = 253_402_300_799;

const SECONDS_PER_DAY: u64 = 86_400;

/// Formats `unix_seconds` (seconds since 1970-01-01T00:00:00Z, leap seconds
/// not counted, as Unix time does) as `YYYY-MM-DDTHH:MM:SSZ`, or `None`
/// after [`MAX_UNIX_SECONDS`].
pub fn format_utc(unix_seconds: u64) -> Option<String> {
    if unix_seconds > MAX_UNIX_SECONDS {
        return None;
    }
    let days = unix_seconds / SECONDS_PER_DAY;
    let secs_of_day = unix_seconds % SECONDS_PER_DAY;
    let (year, month, day) = civil_from_days(days);
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs_of_day / 3600,
        secs_of_day / 60 % 60,
        secs_of_day % 60
    ))
}

/// The proleptic Gregorian (year, month, day) of `days` after 1970-01-01.
///
/// Howard Hinnant's `civil_from_days`, in unsigned arithmetic since `days`
/// is never negative here: the calendar is counted in 400-year eras
/// starting on 0000-03-01, so that the leap day is the last day of a
/// (March-based) year.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Days from 0000-03-01 to 1970-01-01.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097; // [0, 146096]
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365; // [0, 399]
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100); // [0, 365]
    let month_from_march = (5 * day_of_year + 2) / 153; // [0, 11]
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1; // [1, 31]
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(secs: u64) -> String {
        format_utc(secs).unwrap()
    }

    #[test]
    fn epoch_and_known_instants() {
        assert_eq!(fmt(0), "1970-01-01T00:00:00Z");
        assert_eq!(fmt(59), "1970-01-01T00:00:59Z");
        assert_eq!(fmt(86_399), "1970-01-01T23:59:59Z");
        assert_eq!(fmt(86_400), "1970-01-02T00:00:00Z");
        assert_eq!(fmt(1_234_567_890), "2009-02-13T23:31:30Z");
        assert_eq!(fmt(1_796_000_523), "2026-11-30T01:02:03Z");
    }

    #[test]
    fn leap_years() {
        // Divisible by 4.
        assert_eq!(fmt(68_169_600), "1972-02-29T00:00:00Z");
        assert_eq!(fmt(1_709_164_800), "2024-02-29T00:00:00Z");
        assert_eq!(fmt(1_709_251_200), "2024-03-01T00:00:00Z");
        // Divisible by 400: a leap year.
        assert_eq!(fmt(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(fmt(951_868_800), "2000-03-01T00:00:00Z");
        // Divisible by 100 but not 400: not a leap year.
        assert_eq!(fmt(4_107_456_000), "2100-02-28T00:00:00Z");
        assert_eq!(fmt(4_107_542_400), "2100-03-01T00:00:00Z");
    }

    #[test]
    fn year_ends() {
        assert_eq!(fmt(94_694_399), "1972-12-31T23:59:59Z");
        assert_eq!(fmt(94_694_400), "1973-01-01T00:00:00Z");
        // 1972 has 366 days: Dec 31 is its 366th.
        assert_eq!(fmt(63_072_000 + 365 * 86_400), "1972-12-31T00:00:00Z");
    }

    #[test]
    fn every_day_follows_the_previous_one() {
        // Walk 1970 to 2399 day by day: the calendar never skips or repeats
        // a date, and February has 29 days exactly in Gregorian leap years.
        fn month_len(y: u64, m: u64) -> u64 {
            let leap = y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400));
            match m {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            }
        }
        let mut prev = civil_from_days(0);
        assert_eq!(prev, (1970, 1, 1));
        for days in 1..157_000 {
            let (y, m, d) = prev;
            let next = if d < month_len(y, m) {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
            prev = civil_from_days(days);
            assert_eq!(prev, next, "day {days}");
        }
        assert_eq!(prev.0, 2399);
    }

    #[test]
    fn the_range_ends_at_year_9999() {
        assert_eq!(fmt(MAX_UNIX_SECONDS), "9999-12-31T23:59:59Z");
        assert_eq!(format_utc(MAX_UNIX_SECONDS + 1), None);
        assert_eq!(format_utc(u64::MAX), None);
    }
}
