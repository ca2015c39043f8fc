//! # host-test
//!
//! A Wasmtime host for edgeplug components, and the harness their tests use;
//! also a dev-dependency for testing your own components (see the README's
//! "Building on edgeplug").
//!
//! - [`HostContext`] holds what guests see: a `wasi:keyvalue` store (a
//!   [`FakeKv`] with a call log and injectable failures by default),
//!   `wasi:config` values, outgoing-HTTP routes ([`OutboundHttp`]: canned
//!   answers, closures, refusals, or an in-process [`LocalS3`] that
//!   verifies SigV4, with every request recorded), and host fakes of
//!   `edgeplug:worker/{counter,uploader}` for testing the entry alone.
//! - [`HttpWorker`] sends HTTP requests into any component exporting
//!   `wasi:http/incoming-handler` (the entry, or a composed worker);
//!   [`Request`] builds them.
//! - [`CounterClient`] and [`UploaderClient`] call a component's edgeplug
//!   exports directly.
//! - [`serve`] runs a worker on a TCP port, as `cargo xtask serve` does.
//!
//! Every request and every call runs in a fresh instance, as on an edge
//! platform.

#![warn(missing_docs)]

pub mod artifacts;
pub mod bindings;
pub mod bodies;
mod call_log;
mod clock;
mod config;
mod fakes;
pub mod fastedge;
mod faults;
mod host;
pub mod kv;
mod limits;
pub mod load;
pub mod next_handler;
mod outbound;
mod request;
mod s3;
mod s3_cors;
mod s3_listing;
pub mod serve;
mod state;
pub mod sweep;
mod typed;
mod worker;

pub use config::ConfigValues;
pub use fakes::{CounterCall, FakeCounter, FakeUploader, ReceivedObject};
pub use fastedge::{FastEdge, FastEdgeOp};
pub use faults::{Fault, FaultyS3, FiredFault, Matcher};
pub use host::{
    Allocator, EngineOptions, HostContext, allocator, configure_engine, engine, linker,
    load_component,
};
/// The `http` crate this API speaks (status codes, header maps, methods),
/// so that tests need not depend on a matching version themselves.
pub use http;
pub use kv::{FakeKv, KvBackend, KvCall, KvError, KvOp, MemoryKv, MultiPopKv, Pop, SimClock};
pub use limits::{GuestLimits, PeakMemory};
pub use outbound::{
    CannedResponse, DEFAULT_RECORDED_BODY_BYTES, OutboundHandler, OutboundHttp, OutboundRequest,
    RecordedRequest,
};
pub use request::{FullBody, Request};
pub use s3::{LocalS3, S3Credentials};
pub use s3_cors::CorsRule;
pub use state::HostState;
pub use typed::{CounterClient, UploadOptions, UploaderClient};
pub use worker::{HttpWorker, Response, TimedOut};
