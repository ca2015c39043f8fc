//! Key-value stores for tests: [`FakeKv`] wraps any backend with a call log
//! and injectable failures; [`MultiPopKv`] simulates one store seen from
//! several PoPs, with writes that take time to spread. The real backends
//! (memory, redb, Redis) are the host's, re-exported here.

mod fake;
mod pops;

pub use edgeplug_host::kv::{KeyPage, KvBackend, KvError, MemoryKv};
pub use fake::{FakeKv, KvCall, KvOp};
pub use pops::{DEFAULT_PROPAGATION, MultiPopKv, Pop, PopKv, SimClock};
pub(crate) use pops::{History, Write};
