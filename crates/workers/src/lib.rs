//! leadledger's background workers. Each runs as `run(deps, shutdown)`: `deps` holds what it
//! works with (settings, the store, a producer), [`Shutdown`] is the one signal that stops
//! them all; a worker finishes the unit of work in progress (a batch, a step, a tick) and
//! returns.
//!
//! # Layout
//! - [`projector`]: log → PostgreSQL, one transaction per batch with the checkpoint; its
//!   watchdog in [`stall`].
//! - [`rebuild`]: the read models projected again into a shadow schema and swapped in.
//! - [`reevaluate`]: every lead's SLA clocks evaluated again after the policies changed.
//! - [`credits`]: keeps the precomputed attribution credits level with the projection.
//! - [`sla_worker`]: alerts for SLA clocks past their thresholds, routing of unowned MQLs.
//! - [`auto_merge`]: duplicate candidates matching a configured rule appended as merge intents.
//! - [`webhooks`]: SLA alerts and escalation steps POSTed to subscribed URLs, signed,
//!   retried, dead-lettered.
//! - [`gauges`]: the metrics' names, and the sampler of those that are states (lag, queues,
//!   pool, SLA clocks).
//! - `retry`: the one backoff for transient database failures.
//! - [`singleton`]: one worker at a time across processes (a session advisory lock).

#![forbid(unsafe_code)]

pub mod auto_merge;
pub mod credits;
pub mod gauges;
pub mod projector;
pub mod rebuild;
pub mod reevaluate;
mod retry;
pub mod singleton;
pub mod sla_worker;
pub mod stall;
pub mod webhooks;

/// The one shutdown signal of every worker (and of the gRPC server): cancelled once, on
/// SIGTERM or Ctrl-C in the binary, or by a test.
pub type Shutdown = tokio_util::sync::CancellationToken;
