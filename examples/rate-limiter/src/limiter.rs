//! The decision: hand a request on, or answer it here.

use crate::client;
use crate::errors::Refusal;
use crate::settings::{OnError, Settings, SettingsError};
use crate::window::Window;

/// The counter the limiter increments: `edgeplug:worker/counter` in the
/// component, a map in tests.
pub trait Counter {
    /// Atomically adds `delta` to `name` and returns the new value, or
    /// says why it could not.
    fn increment(&mut self, name: &str, delta: u64) -> Result<u64, String>;
}

/// What to do with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Hand it to the next handler. `count` is the client's requests in
    /// this window, this one included (`None` when the counter failed and
    /// the limiter fails open).
    Forward {
        /// The client's count, when known.
        count: Option<u64>,
    },
    /// Answer it here.
    Refuse(Refusal),
}

/// Decides about one request that arrived at `now_secs` (seconds since the
/// Unix epoch). `lookup` returns a request header's first value.
pub fn decide(
    settings: Result<Settings, SettingsError>,
    lookup: impl Fn(&str) -> Option<Vec<u8>>,
    now_secs: u64,
    counter: &mut impl Counter,
) -> Decision {
    let settings = match settings {
        Ok(settings) => settings,
        Err(error) => return Decision::Refuse(Refusal::Internal(error.to_string())),
    };
    let client = match client::identify(&settings.client_header, lookup) {
        Ok(client) => client,
        Err(error) => return Decision::Refuse(Refusal::InvalidInput(error.to_string())),
    };
    let window = Window::at(now_secs, settings.window_secs);
    match counter.increment(&window.counter_name(&client.key), 1) {
        Ok(count) if count > settings.requests => Decision::Refuse(Refusal::RateLimited {
            limit: settings.requests,
            window_secs: settings.window_secs,
            retry_after: window.seconds_left,
        }),
        Ok(count) => Decision::Forward { count: Some(count) },
        Err(_) if settings.on_error == OnError::Open => Decision::Forward { count: None },
        Err(message) => Decision::Refuse(Refusal::Unavailable(format!(
            "the rate limit cannot be checked: {message}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[derive(Default)]
    struct MapCounter {
        values: HashMap<String, u64>,
        down: bool,
    }

    impl Counter for MapCounter {
        fn increment(&mut self, name: &str, delta: u64) -> Result<u64, String> {
            if self.down {
                return Err("kv unreachable".into());
            }
            let value = self.values.entry(name.to_owned()).or_default();
            *value += delta;
            Ok(*value)
        }
    }

    fn settings(requests: u64, on_error: OnError) -> Result<Settings, SettingsError> {
        Ok(Settings {
            requests,
            window_secs: 60,
            client_header: "x-client-ip".into(),
            on_error,
        })
    }

    fn from(ip: &'static str) -> impl Fn(&str) -> Option<Vec<u8>> {
        move |name| (name == "x-client-ip").then(|| ip.as_bytes().to_vec())
    }

    #[test]
    fn the_request_past_the_limit_is_refused_until_the_next_window() {
        let mut counter = MapCounter::default();
        for n in 1..=3 {
            let decision = decide(settings(3, OnError::Open), from("a"), 100, &mut counter);
            assert_eq!(decision, Decision::Forward { count: Some(n) });
        }
        assert_eq!(
            decide(settings(3, OnError::Open), from("a"), 100, &mut counter),
            Decision::Refuse(Refusal::RateLimited {
                limit: 3,
                window_secs: 60,
                retry_after: 20
            })
        );
        // Another client has its own budget; the next window starts afresh.
        assert_eq!(
            decide(settings(3, OnError::Open), from("b"), 100, &mut counter),
            Decision::Forward { count: Some(1) }
        );
        assert_eq!(
            decide(settings(3, OnError::Open), from("a"), 120, &mut counter),
            Decision::Forward { count: Some(1) }
        );
        assert_eq!(counter.values.get("rl:1:a"), Some(&4));
    }

    #[test]
    fn a_failing_counter_fails_open_or_closed_as_configured() {
        let mut counter = MapCounter {
            down: true,
            ..Default::default()
        };
        assert_eq!(
            decide(settings(1, OnError::Open), from("a"), 0, &mut counter),
            Decision::Forward { count: None }
        );
        let Decision::Refuse(refusal) =
            decide(settings(1, OnError::Closed), from("a"), 0, &mut counter)
        else {
            panic!("fails closed");
        };
        assert_eq!(refusal.status(), 503);
        assert!(refusal.to_string().contains("kv unreachable"), "{refusal}");
    }

    #[test]
    fn bad_settings_and_bad_client_ids_are_answered_without_counting() {
        let mut counter = MapCounter::default();
        let bad = Err(SettingsError::Invalid {
            key: "rate-limit-requests",
            value: "0".into(),
            expected: "an integer of at least 1",
        });
        let Decision::Refuse(refusal) = decide(bad, from("a"), 0, &mut counter) else {
            panic!("refused");
        };
        assert_eq!(refusal.status(), 500);
        let long: &'static str = "1".repeat(100).leak();
        let Decision::Refuse(refusal) =
            decide(settings(1, OnError::Open), from(long), 0, &mut counter)
        else {
            panic!("refused");
        };
        assert_eq!(refusal.status(), 400);
        assert!(counter.values.is_empty());
    }
}
