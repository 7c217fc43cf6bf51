//! leadledger's services: the gRPC ingest and query services, the projector, and the server
//! that hosts any combination of them (one binary, several roles).
//!
//! # Layout
//! - [`ingest`]: `IngestService` (validate → deterministic ids → idempotent producer).
//! - [`projector`]: log → PostgreSQL, one transaction per batch with the checkpoint.
//! - [`query`]: `QueryService` over the read models, with read-your-writes.
//! - [`applied`]: one watcher per process of what the projection has applied.
//! - [`attribution`]: `AttributionService`: credits by group, models side by side, Markov and
//!   Shapley diagnostics.
//! - [`ownership`]: `OwnershipService`: claim/assign as intents decided in log order.
//! - [`sla`], [`sla_watch`]: `SlaService`: the SLA report, partner leakage, the alert stream.
//! - [`credits`]: the worker keeping the precomputed credits level with the projection.
//! - [`sla_worker`]: the SLA worker: alerts for clocks past their thresholds, routing of MQLs.
//! - [`stall`]: which partitions have records no projector applies (the group's watchdog).
//! - [`singleton`]: one worker at a time (session advisory lock).
//! - [`server`]: `serve(listener, services, shutdown)` with health and reflection.
//! - [`tenant`]: the one place a request's tenant is decided.
//! - [`token`]: consistency tokens.
//! - [`trace`]: W3C trace context from gRPC metadata to Kafka headers.

pub mod applied;
pub mod attribution;
pub mod credits;
pub mod ingest;
pub mod ownership;
pub mod projector;
pub mod query;
pub mod server;
pub mod singleton;
pub mod sla;
pub mod sla_watch;
pub mod sla_worker;
pub mod stall;
pub mod tenant;
pub mod token;
pub mod trace;
