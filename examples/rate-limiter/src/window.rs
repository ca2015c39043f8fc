//! Fixed windows of wall-clock time, and the counter each client uses in one.

/// The prefix of every counter the limiter increments.
pub const COUNTER_PREFIX: &str = "rl:";

/// The window a moment falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Which window since the Unix epoch: `now / length`.
    pub number: u64,
    /// Seconds until the next window starts (1 to the window's length).
    pub seconds_left: u64,
}

impl Window {
    /// The window of `length_secs` (at least 1) that `now_secs` (seconds
    /// since the Unix epoch) falls in.
    pub fn at(now_secs: u64, length_secs: u64) -> Self {
        // A zero length never passes settings; treat it as 1 rather than divide by zero.
        let length = length_secs.max(1);
        Self {
            number: now_secs / length,
            seconds_left: length - now_secs % length,
        }
    }

    /// The counter of `client_key` in this window: `rl:{window}:{client}`.
    /// Each window starts from a fresh counter, so nothing ever resets one.
    pub fn counter_name(&self, client_key: &str) -> String {
        format!("{COUNTER_PREFIX}{}:{client_key}", self.number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_split_time_into_fixed_slices() {
        assert_eq!(
            Window::at(120, 60),
            Window {
                number: 2,
                seconds_left: 60
            }
        );
        assert_eq!(
            Window::at(179, 60),
            Window {
                number: 2,
                seconds_left: 1
            }
        );
        assert_eq!(
            Window::at(180, 60),
            Window {
                number: 3,
                seconds_left: 60
            }
        );
        assert_eq!(
            Window::at(5, 0),
            Window {
                number: 5,
                seconds_left: 1
            }
        );
    }

    #[test]
    fn counter_names_carry_window_and_client() {
        assert_eq!(
            Window::at(125, 60).counter_name("203.0.113.7"),
            "rl:2:203.0.113.7"
        );
    }

    #[test]
    fn the_longest_name_fits_a_counter_name() {
        let key = format!("hex.{}", "ff".repeat(crate::client::MAX_CLIENT_ID_BYTES));
        let name = Window::at(u64::MAX, 1).counter_name(&key);
        assert!(name.len() <= 128, "{} bytes", name.len());
    }
}
