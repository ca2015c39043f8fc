//! # edgeplug-host
//!
//! The edgeplug runtime and server: a Wasmtime host that runs edgeplug
//! workers (any component exporting `wasi:http/incoming-handler`), and the
//! `edgeplug-host` binary built on it (`edgeplug-host serve`,
//! `edgeplug-host s3 sweep`).
//!
//! - [`engine()`] is the process-wide Wasmtime engine: pooling allocator with
//!   an on-demand fallback, epoch deadlines ([`configure_engine`],
//!   [`load_component`]); [`precompiled`] keeps compiled workers on disk
//!   so a restart skips compilation.
//! - [`linker`] provides every import a worker may use: WASI p2,
//!   wasi-http, `wasi:keyvalue/{store,atomics}` over a [`KvBackend`]
//!   ([`kv`]: memory, redb, Redis), `wasi:config/store`, and
//!   `gcore:fastedge/*` over a [`FastEdgePlatform`](fastedge::FastEdgePlatform).
//!   [`linker_for`] leaves out what a plainer host does not provide
//!   ([`HostImports`]).
//! - [`kv_gateway`] serves a [`KvBackend`] over the Redis REST protocol:
//!   the central store of global counters (`edgeplug-host kv-gateway`).
//! - [`WorkerContext`] is what each instance is made from; [`HttpWorker`]
//!   runs one request per fresh instance with memory caps and deadlines,
//!   or, opted into per worker, lets an instance answer several requests
//!   in turn ([`reuse`]);
//!   [`serve::Server`] puts a worker on a TCP port with a concurrency cap
//!   and graceful drain.
//! - [`LocalS3`] is an S3-compatible store on a folder that verifies SigV4,
//!   so a worker's uploads run with no cloud account; [`sweep`] cleans up
//!   multipart uploads left open in any S3 bucket.
//!
//! Fakes with call logs and failure switches are not here: they are the
//! test kit's (`host-test`), built on this crate. See `docs/architecture.md`.
//!
//! Features: `cli` (the binary), `redb` and `redis` (those KV backends); all
//! on by default. A library user who needs none of them turns them off.

#![warn(missing_docs)]

mod accept;
pub mod bindings;
mod config;
mod context;
mod engine;
pub mod fastedge;
pub mod kv;
pub mod kv_gateway;
mod limits;
mod linker;
mod outbound;
pub mod precompiled;
pub mod reuse;
pub mod s3;
pub mod serve;
mod state;
pub mod sweep;
mod sync;
mod worker;

pub use config::ConfigValues;
pub use context::{Instances, WorkerContext};
pub use engine::{
    Allocator, EPOCH_TICK, EngineOptions, allocator, configure_engine, engine, load_component,
};
/// The `http` crate this API speaks (status codes, header maps, methods).
pub use http;
pub use kv::{KvBackend, KvError, MemoryKv};
pub use limits::{GuestLimits, PeakMemory};
pub use linker::{HostImports, linker, linker_for};
pub use outbound::{
    CannedResponse, DEFAULT_RECORDED_BODY_BYTES, OutboundHandler, OutboundHttp, OutboundRequest,
    RecordedRequest,
};
pub use reuse::{InstanceReuse, InstanceStats};
pub use s3::{CorsRule, LocalS3, S3Credentials};
pub use state::HostState;
pub use worker::{HttpWorker, Response, TimedOut};
