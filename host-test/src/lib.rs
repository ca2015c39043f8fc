//! # host-test
//!
//! The edgeplug test kit: run a component (yours or ours) in the edgeplug
//! host with fakes for everything it imports, send it requests or call its
//! exports, and check what it did. Add it as a dev-dependency (see the
//! README's "Building on edgeplug").
//!
//! - [`HostContext`] holds what guests see: a `wasi:keyvalue` store (a
//!   [`FakeKv`] with a call log and injectable failures by default, or a
//!   [`MultiPopKv`] that spreads writes across PoPs), `wasi:config` values,
//!   outgoing-HTTP routes ([`OutboundHttp`]: canned answers, closures,
//!   refusals, or an in-process [`LocalS3`] that verifies SigV4, behind a
//!   [`FaultyS3`] if you want failures, with every request recorded), the
//!   fake [`FastEdge`] platform, and fakes of
//!   `edgeplug:worker/{counter,uploader}` for testing the entry alone.
//! - [`KvGateway`] is the central store of the global flavors (the Redis
//!   REST protocol over any [`KvBackend`]): route a worker's outgoing
//!   requests to it in-process (`context.outbound().route(…)`) to test a
//!   composition that keeps counters in a central Redis.
//! - [`HttpWorker`] sends HTTP requests into any component exporting
//!   `wasi:http/incoming-handler` (the entry, or a composed worker);
//!   [`Request`] builds them.
//! - [`CounterClient`] and [`UploaderClient`] call a component's edgeplug
//!   exports directly.
//! - [`load`] drives a served worker with many connections; [`bodies`]
//!   streams large, checkable request bodies.
//!
//! Every request and every call runs in a fresh instance, as on an edge
//! platform, unless a test opts a worker into reuse
//! ([`HttpWorker::with_instance_reuse`](edgeplug_host::HttpWorker::with_instance_reuse)). The runtime underneath is the `edgeplug-host` crate (the
//! server people run); this kit re-exports what tests need of it.

#![warn(missing_docs)]

pub mod artifacts;
pub mod bindings;
pub mod bodies;
mod call_log;
mod clock;
mod context;
mod fakes;
pub mod fastedge;
mod faults;
pub mod kv;
pub mod load;
pub mod next_handler;
mod request;
mod typed;

use wasmtime::component::{HasSelf, Linker};

pub use context::HostContext;
pub use edgeplug_host::kv_gateway::{self, KvGateway};
pub use edgeplug_host::{
    CannedResponse, ConfigValues, CorsRule, DEFAULT_RECORDED_BODY_BYTES, GuestLimits, HostState,
    InstanceReuse, InstanceStats, LocalS3, OutboundHandler, OutboundHttp, OutboundRequest,
    PeakMemory, RecordedRequest, Response, S3Credentials, TimedOut, allocator, engine,
    load_component,
};
pub use fakes::{CounterCall, FakeCounter, FakeUploader, ReceivedObject};
pub use fastedge::{FastEdge, FastEdgeOp};
pub use faults::{Fault, FaultyS3, FiredFault, Matcher};
/// The `http` crate this API speaks (status codes, header maps, methods),
/// so that tests need not depend on a matching version themselves.
pub use http;
pub use kv::{FakeKv, KvBackend, KvCall, KvError, KvOp, MemoryKv, MultiPopKv, Pop, SimClock};
pub use request::{FullBody, Request};
pub use typed::{CounterClient, UploadOptions, UploaderClient};

/// A worker whose instances a [`HostContext`] makes, fakes linked.
pub type HttpWorker = edgeplug_host::HttpWorker<HostContext>;

/// The host's linker ([`edgeplug_host::linker`]: WASI, wasi-http,
/// `wasi:keyvalue`, `wasi:config`, `gcore:fastedge/*`) plus the fakes of
/// `edgeplug:worker/{counter,uploader}`, which read their state from the
/// instance a [`HostContext`] made.
pub fn linker() -> anyhow::Result<Linker<HostState>> {
    let mut linker = edgeplug_host::linker()?;
    use bindings::entry::edgeplug::worker::{counter, uploader};
    counter::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
    uploader::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
    Ok(linker)
}
