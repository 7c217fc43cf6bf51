//! leadledger's gRPC services and the server that hosts any combination of them (one binary,
//! several roles). A handler parses its request, decides its tenant, waits for its
//! consistency token, and asks the store or appends to the log; SQL and Kafka clients stay
//! in `leadledger-store` and `leadledger-log`.
//!
//! # Layout
//! - [`auth`]: API keys, scopes and the gate every call passes (tenant from the key).
//! - [`body`]: response bodies that carry a permit or a measured call to their end.
//! - [`ingest`]: `IngestService` (validate → deterministic ids → idempotent producer).
//! - [`context`]: what every handler starts from: [`context::ReadContext`] (store, topic,
//!   read-your-writes waits on the consistency token), the tenant, paging.
//! - [`query`]: `QueryService` over the read models; `list` its `ListLeads` (the leads
//!   behind any figure); `account` its `GetAccount` (an account's leads, committee and
//!   owners); `target_accounts` its `ListTargetAccounts` (coverage, customers, renewals); [`velocity`] and [`cohorts`] its measures computed on request, [`measures`] what
//!   they parse alike, [`reasons`] why leads leave the main line, [`revenue`] the revenue
//!   equation.
//! - [`attribution`]: `AttributionService`: credits by group, models side by side, Markov and
//!   Shapley diagnostics.
//! - [`ownership`]: `OwnershipService`: claim/assign as intents decided in log order.
//! - `command`: what the command RPCs share (a fact's id from the request id, appending it).
//! - [`identity`]: `IdentityService`: merge and unmerge leads, decided in log order;
//!   `duplicates` its listing of the leads that may be one person.
//! - [`privacy`]: `PrivacyService`: erasing a contact (keys destroyed, then the fact).
//! - [`sealing`]: captured contacts sealed before the log, keys made in group commits.
//! - [`sla`], [`sla_watch`], `sla_whatif`: `SlaService`: the SLA report, partner leakage, the
//!   alert stream, a candidate policy file tried on the timelines (`sla_fields`: the request
//!   fields and report groups they share).
//! - [`health`]: SERVING while the log and the database answer, NOT_SERVING otherwise and
//!   during the shutdown drain.
//! - [`metrics`]: RPC calls, codes and durations (a layer outside the gate), events
//!   ingested, `WatchSla` subscribers.
//! - [`shed`]: load shedding: the log's queue and the database pool, refused at once
//!   (`UNAVAILABLE`) when saturated.
//! - [`server`]: `serve(listener, services, shutdown)` with health and reflection.
//! - [`tenant`]: the one place a request's tenant is decided.
//! - [`token`]: consistency tokens.
//! - [`trace`]: the server span of every call, parented to the caller's W3C context.

#![forbid(unsafe_code)]

mod account;
pub mod attribution;
pub mod auth;
pub mod body;
pub mod cohorts;
mod command;
pub mod context;
mod duplicates;
mod funnel;
pub mod health;
pub mod identity;
pub mod ingest;
pub mod json;
mod list;
pub mod measures;
pub mod metrics;
pub mod ownership;
pub mod privacy;
pub mod query;
pub mod reasons;
pub mod revenue;
pub mod sealing;
pub mod server;
pub mod shed;
pub mod sla;
mod sla_fields;
pub mod sla_watch;
mod sla_whatif;
mod target_accounts;
pub mod tenant;
pub mod token;
pub mod trace;
pub mod velocity;
