//! The fake `gcore:fastedge/key-value`: stores written only from outside
//! (the test plays Gcore's API), each write reaching every PoP after the
//! propagation delay. Apps only read.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use edgeplug_host::fastedge::glob_match;

use crate::kv::{History, Pop, Write};

/// The stores, by name, with each key's write history.
#[derive(Debug, Default)]
pub(crate) struct Stores {
    stores: HashMap<String, BTreeMap<String, History>>,
}

impl Stores {
    pub fn create(&mut self, store: &str) {
        self.stores.entry(store.to_owned()).or_default();
    }

    pub fn exists(&self, store: &str) -> bool {
        self.stores.contains_key(store)
    }

    /// Writes from outside every PoP (`value` `None` deletes).
    pub fn publish(
        &mut self,
        store: &str,
        key: &str,
        value: Option<Vec<u8>>,
        now: Duration,
        delay: Duration,
    ) {
        let write = Write {
            at: now,
            origin: None,
            value,
        };
        self.stores
            .entry(store.to_owned())
            .or_default()
            .entry(key.to_owned())
            .or_default()
            .push(write, now, delay);
    }

    pub fn get(
        &self,
        store: &str,
        key: &str,
        pop: &Pop,
        now: Duration,
        delay: Duration,
    ) -> Option<Vec<u8>> {
        self.stores
            .get(store)?
            .get(key)?
            .visible(Some(pop), now, delay)
            .map(<[u8]>::to_vec)
    }

    pub fn scan(
        &self,
        store: &str,
        pattern: &str,
        pop: &Pop,
        now: Duration,
        delay: Duration,
    ) -> Vec<String> {
        self.stores
            .get(store)
            .into_iter()
            .flatten()
            .filter(|(key, history)| {
                glob_match(pattern.as_bytes(), key.as_bytes())
                    && history.visible(Some(pop), now, delay).is_some()
            })
            .map(|(key, _)| key.clone())
            .collect()
    }
}

/// Glob matching as Redis `SCAN MATCH` does it, for `*`, `?` and `\`
/// escapes (no character classes).
#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn published_values_reach_every_pop_after_the_delay() {
        let mut stores = Stores::default();
        let (a, b) = (Pop::new("a"), Pop::new("b"));
        stores.publish(
            "flags",
            "beta",
            Some(b"on".to_vec()),
            Duration::ZERO,
            300 * MS,
        );
        for pop in [&a, &b] {
            assert_eq!(stores.get("flags", "beta", pop, 299 * MS, 300 * MS), None);
            assert!(
                stores
                    .scan("flags", "*", pop, 299 * MS, 300 * MS)
                    .is_empty()
            );
            assert_eq!(
                stores.get("flags", "beta", pop, 300 * MS, 300 * MS),
                Some(b"on".to_vec())
            );
            assert_eq!(
                stores.scan("flags", "b*", pop, 300 * MS, 300 * MS),
                ["beta"]
            );
        }
    }
}
