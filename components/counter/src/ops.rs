//! The counter operations, over any [`Kv`] and [`ConfigSource`].

use crate::config::{Config, ConfigSource};
use crate::errors::CounterError;
use crate::kv::Kv;
use crate::name::validate_name;
use crate::value::parse_value;

/// The largest value every supported store can hold: Redis and FastEdge's
/// `cache-sync` count in `i64`, `wasi:keyvalue` hosts in `u64`.
pub const PORTABLE_MAX: u64 = i64::MAX as u64;

/// Atomically adds `delta` to the counter `name` and returns the new value.
///
/// A store refuses an increment that would overflow with a message of its
/// own (each host words it differently), so a failed increment is checked
/// against the stored value: when `value + delta` passes [`PORTABLE_MAX`]
/// (or `u64`), the failure is [`CounterError::AtMaximum`], never a
/// misleading "store unavailable".
pub fn increment(
    kv: &impl Kv,
    config: &impl ConfigSource,
    name: &str,
    delta: u64,
) -> Result<u64, CounterError> {
    validate_name(name)?;
    let config = Config::load(config)?;
    let key = config.key(name);
    // Always the atomic call: a get + set would lose concurrent counts.
    kv.increment(&config.bucket, &key, delta).map_err(|source| {
        // Only on the failure path: the read costs nothing when all is well.
        let stored = kv.get(&config.bucket, &key).ok().flatten();
        match stored.and_then(|bytes| parse_value(&bytes).ok()) {
            Some(value)
                if value
                    .checked_add(delta)
                    .is_none_or(|sum| sum > PORTABLE_MAX) =>
            {
                CounterError::AtMaximum {
                    name: name.to_owned(),
                    value,
                    delta,
                }
            }
            _ => CounterError::Kv {
                bucket: config.bucket.clone(),
                source,
            },
        }
    })
}

/// Returns the value of the counter `name`, 0 when it was never incremented.
pub fn get(kv: &impl Kv, config: &impl ConfigSource, name: &str) -> Result<u64, CounterError> {
    validate_name(name)?;
    let config = Config::load(config)?;
    let stored = kv
        .get(&config.bucket, &config.key(name))
        .map_err(|source| CounterError::Kv {
            bucket: config.bucket.clone(),
            source,
        })?;
    match stored {
        None => Ok(0),
        Some(bytes) => parse_value(&bytes).map_err(|source| CounterError::BadValue {
            name: name.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::MapConfig;
    use crate::errors::KvError;
    use crate::name::NameError;
    use crate::value::ValueError;
    use std::cell::RefCell;
    use std::collections::HashMap;

    /// An in-memory store that records which calls were made.
    #[derive(Default)]
    struct FakeKv {
        data: RefCell<HashMap<(String, String), Vec<u8>>>,
        calls: RefCell<Vec<String>>,
        fail: Option<KvError>,
        /// The largest value the store holds; `u64::MAX` when `None`.
        max: Option<u64>,
    }

    impl Kv for FakeKv {
        fn increment(&self, bucket: &str, key: &str, delta: u64) -> Result<u64, KvError> {
            self.calls
                .borrow_mut()
                .push(format!("increment {bucket} {key} {delta}"));
            if let Some(err) = &self.fail {
                return Err(err.clone());
            }
            let mut data = self.data.borrow_mut();
            let slot = data
                .entry((bucket.to_owned(), key.to_owned()))
                .or_insert_with(|| b"0".to_vec());
            let value = parse_value(slot)
                .map_err(|e| KvError::Other(e.to_string()))?
                .checked_add(delta)
                .filter(|&sum| sum <= self.max.unwrap_or(u64::MAX))
                .ok_or_else(|| KvError::Other("ERR increment would overflow".into()))?;
            *slot = value.to_string().into_bytes();
            Ok(value)
        }

        fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
            self.calls.borrow_mut().push(format!("get {bucket} {key}"));
            if let Some(err) = &self.fail {
                return Err(err.clone());
            }
            Ok(self
                .data
                .borrow()
                .get(&(bucket.to_owned(), key.to_owned()))
                .cloned())
        }
    }

    impl FakeKv {
        fn set(&self, bucket: &str, key: &str, value: &[u8]) {
            self.data
                .borrow_mut()
                .insert((bucket.to_owned(), key.to_owned()), value.to_vec());
        }
    }

    #[test]
    fn increments_with_the_atomic_call_only() {
        let kv = FakeKv::default();
        let config = MapConfig::default();
        assert_eq!(increment(&kv, &config, "page_views", 1), Ok(1));
        assert_eq!(increment(&kv, &config, "page_views", 5), Ok(6));
        assert_eq!(
            *kv.calls.borrow(),
            [
                "increment default page_views 1",
                "increment default page_views 5"
            ]
        );
    }

    #[test]
    fn uses_configured_bucket_and_prefix() {
        let kv = FakeKv::default();
        let config = MapConfig::with(&[("kv-bucket", "b1"), ("counter-prefix", "app:")]);
        assert_eq!(increment(&kv, &config, "hits", 2), Ok(2));
        assert_eq!(get(&kv, &config, "hits"), Ok(2));
        assert_eq!(
            *kv.calls.borrow(),
            ["increment b1 app:hits 2", "get b1 app:hits"]
        );
    }

    #[test]
    fn get_of_missing_counter_is_zero() {
        assert_eq!(
            get(&FakeKv::default(), &MapConfig::default(), "nope"),
            Ok(0)
        );
    }

    #[test]
    fn get_parses_stored_text() {
        let kv = FakeKv::default();
        kv.set("default", "hits", b" 42\n");
        assert_eq!(get(&kv, &MapConfig::default(), "hits"), Ok(42));
    }

    #[test]
    fn get_of_garbage_is_bad_value() {
        let kv = FakeKv::default();
        kv.set("default", "hits", b"abc");
        assert_eq!(
            get(&kv, &MapConfig::default(), "hits"),
            Err(CounterError::BadValue {
                name: "hits".to_owned(),
                source: ValueError::NotDecimal
            })
        );
    }

    #[test]
    fn invalid_names_never_reach_the_store() {
        let kv = FakeKv::default();
        let config = MapConfig::default();
        assert_eq!(
            increment(&kv, &config, "", 1),
            Err(CounterError::InvalidName(NameError::Empty))
        );
        assert!(get(&kv, &config, "a/b").is_err());
        assert!(kv.calls.borrow().is_empty());
    }

    #[test]
    fn store_errors_carry_the_bucket() {
        let kv = FakeKv {
            fail: Some(KvError::NoSuchStore),
            ..FakeKv::default()
        };
        let err = get(&kv, &MapConfig::with(&[("kv-bucket", "missing")]), "x").unwrap_err();
        assert_eq!(
            err,
            CounterError::Kv {
                bucket: "missing".to_owned(),
                source: KvError::NoSuchStore
            }
        );
    }

    /// A store that counts in `i64`, as Redis and FastEdge's `cache-sync`
    /// do, refusing an increment past `i64::MAX` with its own wording.
    fn i64_store() -> FakeKv {
        FakeKv {
            max: Some(PORTABLE_MAX),
            ..FakeKv::default()
        }
    }

    #[test]
    fn an_increment_past_the_stores_maximum_is_at_maximum() {
        let kv = i64_store();
        let config = MapConfig::default();
        kv.set("default", "hits", (PORTABLE_MAX - 1).to_string().as_bytes());
        assert_eq!(increment(&kv, &config, "hits", 1), Ok(PORTABLE_MAX));
        let err = increment(&kv, &config, "hits", 1).unwrap_err();
        assert_eq!(
            err,
            CounterError::AtMaximum {
                name: "hits".into(),
                value: PORTABLE_MAX,
                delta: 1
            }
        );
        // The value is unchanged and still readable.
        assert_eq!(get(&kv, &config, "hits"), Ok(PORTABLE_MAX));
    }

    #[test]
    fn a_delta_that_would_pass_the_maximum_is_at_maximum_from_any_value() {
        let kv = i64_store();
        let config = MapConfig::default();
        assert_eq!(increment(&kv, &config, "hits", 5), Ok(5));
        let err = increment(&kv, &config, "hits", u64::MAX).unwrap_err();
        assert!(
            matches!(err, CounterError::AtMaximum { value: 5, .. }),
            "{err:?}"
        );
        assert_eq!(get(&kv, &config, "hits"), Ok(5));
    }

    #[test]
    fn a_u64_store_at_its_maximum_is_at_maximum_too() {
        let kv = FakeKv::default();
        let config = MapConfig::default();
        kv.set("default", "hits", u64::MAX.to_string().as_bytes());
        let err = increment(&kv, &config, "hits", 1).unwrap_err();
        assert!(
            matches!(
                err,
                CounterError::AtMaximum {
                    value: u64::MAX,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_failing_store_below_the_maximum_stays_a_store_error() {
        let kv = FakeKv {
            fail: Some(KvError::Other("timeout".into())),
            ..FakeKv::default()
        };
        let err = increment(&kv, &MapConfig::default(), "hits", 1).unwrap_err();
        assert_eq!(
            err,
            CounterError::Kv {
                bucket: "default".into(),
                source: KvError::Other("timeout".into())
            }
        );
    }

    #[test]
    fn config_errors_stop_the_call() {
        let kv = FakeKv::default();
        let config = MapConfig {
            fail: Some("down".to_owned()),
            ..MapConfig::default()
        };
        assert!(matches!(
            increment(&kv, &config, "x", 1),
            Err(CounterError::Config(_))
        ));
        assert!(kv.calls.borrow().is_empty());
    }
}
