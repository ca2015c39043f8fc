//! Several PoPs over one eventually consistent store: the seed's consistency
//! model, made testable.
//!
//! A write is visible at once at the PoP that made it (read-your-writes) and
//! at every other PoP only once the propagation delay has passed. Each key's
//! writes are ordered; a PoP sees the latest write visible to it (last writer
//! wins), so two PoPs incrementing the same key at once can lose a count,
//! exactly as in an eventually consistent edge store. Increments at one PoP
//! are atomic and never lose one.
//!
//! Time is a [`SimClock`]: real time by default, or a manual clock that a
//! test advances, so that "not yet visible at B" and "visible at B after
//! 300 ms" are deterministic.

use crate::call_log::lock;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{KeyPage, KvBackend, KvError};
use edgeplug_host::kv::add_to_stored;

/// The propagation delay used when none is given: 300 ms, within the seed's
/// 100–500 ms.
pub const DEFAULT_PROPAGATION: Duration = Duration::from_millis(300);

/// How many keys one `list-keys` page holds.
const PAGE_SIZE: usize = 1000;

/// A point of presence: where a request lands.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pop(Arc<str>);

impl Pop {
    /// The PoP called `name`.
    pub fn new(name: &str) -> Self {
        Self(Arc::from(name))
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.0
    }
}

impl Default for Pop {
    /// The PoP every request lands on unless a test picks another.
    fn default() -> Self {
        Self::new("default")
    }
}

impl std::fmt::Display for Pop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The time the simulated stores see. Clones share the same clock.
#[derive(Debug, Clone)]
pub enum SimClock {
    /// Real time since the clock was made.
    Real(Instant),
    /// Time that moves only when a test calls [`SimClock::advance`].
    Manual(Arc<Mutex<Duration>>),
}

impl Default for SimClock {
    fn default() -> Self {
        Self::real()
    }
}

impl SimClock {
    /// Real time, starting now.
    pub fn real() -> Self {
        Self::Real(Instant::now())
    }

    /// A manual clock, starting at zero.
    pub fn manual() -> Self {
        Self::Manual(Arc::default())
    }

    /// The time elapsed since the clock started.
    pub fn now(&self) -> Duration {
        match self {
            Self::Real(start) => start.elapsed(),
            Self::Manual(now) => *lock(now),
        }
    }

    /// Moves a manual clock forward by `by`; a real clock ignores it (sleep
    /// instead).
    pub fn advance(&self, by: Duration) {
        if let Self::Manual(now) = self {
            *lock(now) += by;
        }
    }
}

/// One write to one key: a new value, or a delete (`None`).
#[derive(Debug, Clone)]
pub(crate) struct Write {
    /// When it was made.
    pub at: Duration,
    /// Where it was made; `None` when it came from outside every PoP.
    pub origin: Option<Pop>,
    /// The value written, `None` for a delete.
    pub value: Option<Vec<u8>>,
}

/// Every write to one key, oldest first, with the visibility rule.
#[derive(Debug, Clone, Default)]
pub(crate) struct History {
    writes: Vec<Write>,
}

impl History {
    /// Appends a write and forgets the writes no PoP can see any more.
    pub fn push(&mut self, write: Write, now: Duration, delay: Duration) {
        self.writes.push(write);
        // Everything before the newest write visible everywhere is hidden
        // behind it at every PoP.
        if let Some(last_global) = self
            .writes
            .iter()
            .rposition(|w| now >= w.at.saturating_add(delay))
        {
            self.writes.drain(..last_global);
        }
    }

    /// The value `pop` sees at `now` (`pop` `None`: a reader outside every
    /// PoP, which sees only propagated writes).
    pub fn visible(&self, pop: Option<&Pop>, now: Duration, delay: Duration) -> Option<&[u8]> {
        self.writes
            .iter()
            .rev()
            .find(|w| {
                (pop.is_some() && w.origin.as_ref() == pop) || now >= w.at.saturating_add(delay)
            })
            .and_then(|w| w.value.as_deref())
    }
}

struct Shared {
    clock: SimClock,
    delay: Duration,
    buckets: Mutex<HashMap<String, BTreeMap<String, History>>>,
}

/// One eventually consistent store seen from several PoPs. Clones share it;
/// [`MultiPopKv::at`] gives the [`KvBackend`] one PoP sees.
#[derive(Clone)]
pub struct MultiPopKv {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for MultiPopKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultiPopKv")
            .field("delay", &self.shared.delay)
            .finish_non_exhaustive()
    }
}

impl Default for MultiPopKv {
    fn default() -> Self {
        Self::new(DEFAULT_PROPAGATION)
    }
}

impl MultiPopKv {
    /// An empty store whose writes reach other PoPs after `delay`, in real
    /// time.
    pub fn new(delay: Duration) -> Self {
        Self::with_clock(delay, SimClock::real())
    }

    /// An empty store on `clock`.
    pub fn with_clock(delay: Duration, clock: SimClock) -> Self {
        Self {
            shared: Arc::new(Shared {
                clock,
                delay,
                buckets: Mutex::default(),
            }),
        }
    }

    /// The propagation delay.
    pub fn delay(&self) -> Duration {
        self.shared.delay
    }

    /// The clock the store runs on.
    pub fn clock(&self) -> &SimClock {
        &self.shared.clock
    }

    /// The store as `pop` sees it.
    pub fn at(&self, pop: Pop) -> PopKv {
        PopKv {
            shared: Arc::clone(&self.shared),
            pop,
        }
    }
}

/// The [`KvBackend`] of one PoP of a [`MultiPopKv`].
#[derive(Clone)]
pub struct PopKv {
    shared: Arc<Shared>,
    pop: Pop,
}

impl std::fmt::Debug for PopKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PopKv").field("pop", &self.pop).finish()
    }
}

impl PopKv {
    /// The PoP this view belongs to.
    pub fn pop(&self) -> &Pop {
        &self.pop
    }

    fn with_bucket<R>(
        &self,
        bucket: &str,
        f: impl FnOnce(&mut BTreeMap<String, History>, Duration, Duration) -> R,
    ) -> R {
        let mut buckets = lock(&self.shared.buckets);
        let now = self.shared.clock.now();
        f(
            buckets.entry(bucket.to_owned()).or_default(),
            now,
            self.shared.delay,
        )
    }

    fn write(&self, bucket: &str, key: &str, value: Option<Vec<u8>>) {
        self.with_bucket(bucket, |b, now, delay| {
            let write = Write {
                at: now,
                origin: Some(self.pop.clone()),
                value,
            };
            b.entry(key.to_owned()).or_default().push(write, now, delay);
        });
    }
}

#[async_trait]
impl KvBackend for PopKv {
    async fn open(&self, bucket: &str) -> Result<(), KvError> {
        self.with_bucket(bucket, |_, _, _| Ok(()))
    }

    async fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.with_bucket(bucket, |b, now, delay| {
            b.get(key)
                .and_then(|h| h.visible(Some(&self.pop), now, delay))
                .map(<[u8]>::to_vec)
        }))
    }

    async fn set(&self, bucket: &str, key: &str, value: Vec<u8>) -> Result<(), KvError> {
        self.write(bucket, key, Some(value));
        Ok(())
    }

    async fn delete(&self, bucket: &str, key: &str) -> Result<(), KvError> {
        self.write(bucket, key, None);
        Ok(())
    }

    async fn exists(&self, bucket: &str, key: &str) -> Result<bool, KvError> {
        Ok(self.get(bucket, key).await?.is_some())
    }

    async fn list_keys(&self, bucket: &str, cursor: Option<u64>) -> Result<KeyPage, KvError> {
        let start = usize::try_from(cursor.unwrap_or(0))
            .map_err(|_| KvError::Other("cursor out of range".into()))?;
        Ok(self.with_bucket(bucket, |b, now, delay| {
            let visible: Vec<&String> = b
                .iter()
                .filter(|(_, h)| h.visible(Some(&self.pop), now, delay).is_some())
                .map(|(k, _)| k)
                .collect();
            let keys: Vec<String> = visible
                .iter()
                .skip(start)
                .take(PAGE_SIZE)
                .map(|k| (*k).clone())
                .collect();
            let next = start + keys.len();
            let cursor = (next < visible.len()).then_some(next as u64);
            KeyPage { keys, cursor }
        }))
    }

    async fn increment(&self, bucket: &str, key: &str, delta: u64) -> Result<u64, KvError> {
        // One lock around read and write: atomic at this PoP.
        self.with_bucket(bucket, |b, now, delay| {
            let history = b.entry(key.to_owned()).or_default();
            let next = add_to_stored(history.visible(Some(&self.pop), now, delay), delta)?;
            let write = Write {
                at: now,
                origin: Some(self.pop.clone()),
                value: Some(next.to_string().into_bytes()),
            };
            history.push(write, now, delay);
            Ok(next)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn store() -> (MultiPopKv, PopKv, PopKv) {
        let kv = MultiPopKv::with_clock(300 * MS, SimClock::manual());
        let a = kv.at(Pop::new("a"));
        let b = kv.at(Pop::new("b"));
        (kv, a, b)
    }

    #[tokio::test]
    async fn writes_reach_other_pops_after_the_delay() {
        let (kv, a, b) = store();
        a.set("bk", "k", b"1".to_vec()).await.unwrap();
        assert_eq!(a.get("bk", "k").await, Ok(Some(b"1".to_vec())));
        assert_eq!(b.get("bk", "k").await, Ok(None));
        kv.clock().advance(299 * MS);
        assert_eq!(b.get("bk", "k").await, Ok(None));
        kv.clock().advance(MS);
        assert_eq!(b.get("bk", "k").await, Ok(Some(b"1".to_vec())));
    }

    #[tokio::test]
    async fn deletes_propagate_like_writes() {
        let (kv, a, b) = store();
        a.set("bk", "k", b"1".to_vec()).await.unwrap();
        kv.clock().advance(300 * MS);
        b.delete("bk", "k").await.unwrap();
        assert_eq!(b.exists("bk", "k").await, Ok(false));
        assert_eq!(a.exists("bk", "k").await, Ok(true));
        assert_eq!(a.list_keys("bk", None).await.unwrap().keys, ["k"]);
        kv.clock().advance(300 * MS);
        assert_eq!(a.exists("bk", "k").await, Ok(false));
        assert!(a.list_keys("bk", None).await.unwrap().keys.is_empty());
    }

    #[tokio::test]
    async fn a_pop_sees_its_own_later_write_over_an_older_remote_one() {
        let (kv, a, b) = store();
        a.set("bk", "k", b"from-a".to_vec()).await.unwrap();
        kv.clock().advance(100 * MS);
        b.set("bk", "k", b"from-b".to_vec()).await.unwrap();
        kv.clock().advance(200 * MS);
        // A's write has reached B, but B's own is newer.
        assert_eq!(b.get("bk", "k").await, Ok(Some(b"from-b".to_vec())));
        assert_eq!(a.get("bk", "k").await, Ok(Some(b"from-a".to_vec())));
        kv.clock().advance(100 * MS);
        assert_eq!(a.get("bk", "k").await, Ok(Some(b"from-b".to_vec())));
    }

    #[tokio::test]
    async fn increments_at_one_pop_are_atomic_and_propagate() {
        let (kv, a, b) = store();
        for _ in 0..10 {
            a.increment("bk", "n", 1).await.unwrap();
        }
        assert_eq!(a.increment("bk", "n", 0).await, Ok(10));
        assert_eq!(b.get("bk", "n").await, Ok(None));
        kv.clock().advance(300 * MS);
        assert_eq!(b.increment("bk", "n", 5).await, Ok(15));
    }

    #[test]
    fn histories_forget_what_no_pop_can_see() {
        let delay = 10 * MS;
        let mut h = History::default();
        for i in 0..5u8 {
            let write = Write {
                at: u32::from(i) * 20 * MS,
                origin: Some(Pop::new("a")),
                value: Some(vec![i]),
            };
            h.push(write, u32::from(i) * 20 * MS, delay);
        }
        assert!(h.writes.len() <= 2, "{:?}", h.writes);
        assert_eq!(h.visible(None, 100 * MS, delay), Some(&[4u8][..]));
    }
}
