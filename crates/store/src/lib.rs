//! leadledger's PostgreSQL side: migrations, the projection transaction, checkpoints and the
//! read-model queries. SQL schema lives in `migrations/` (documented in docs/READ_MODELS.md).
//!
//! # Layout
//! - [`db`]: connecting, creating a database, running migrations.
//! - [`projection`]: the projection transaction: a batch's rows (computed by
//!   `leadledger_projection`) and its checkpoints, in ONE transaction.
//! - [`timeline`]: the one reader of stored timelines (the log's bytes, decoded like the log).
//! - [`applied`]: one watcher per process of what a projection has applied (read-your-writes
//!   waits, the SLA alert stream).
//! - [`bi`]: BI roles and the tenants each may read (row-level security does the rest).
//! - [`checkpoints`]: reading checkpoints (seek on assignment, read-your-writes waits).
//! - [`credits`]: the precomputed attribution credits, kept level with the core projection.
//! - [`keys`]: the API keys callers authenticate with (hashed secrets, tenant, scopes).
//! - [`contact_keys`]: the data keys contacts are sealed with; destroying them erases.
//! - [`cut`]: measures at a cut of the log (`as_of`, `known_at`): each lead folded again
//!   from the events the cut admits.
//! - `filters`: `ListLeads`' filters and their SQL clauses.
//! - [`leads`]: lead lookup, timeline, listing and funnel.
//! - [`lock`]: session advisory locks (one worker at a time).
//! - [`rebuild`]: the shadow schema `leadledger rebuild` fills, and the swap that puts it
//!   in place while the service runs.
//! - [`reevaluation`]: every lead's SLA clocks evaluated again after the policies changed,
//!   a locked step at a time, resumable.
//! - [`reps`]: the rep leaderboard.
//! - [`ownership`]: ownership decisions and account conflicts.
//! - [`sla_reports`]: the SLA report at an instant, the alert stream, partner leakage.
//! - [`sla_whatif`]: a candidate policy file evaluated over the tenant's timelines beside
//!   the live one (nothing written).
//! - [`webhooks`]: outgoing webhook subscriptions, where each stands per partition, and
//!   the notices given up.
//! - [`due`]: work that is due: SLA alerts past their thresholds, MQLs waiting for an owner,
//!   and the rep records routing weighs (what the SLA worker reads).
//! - [`stays`]: every stay of a tenant's leads, streamed lead by lead into the measures
//!   computed on request (velocity, cohorts).
//! - [`exits`]: exits with their reasons, counted and listed (`Reasons`).
//! - [`spend`]: marketing spend overlapping a range of days, and the capture → signed
//!   turnover of each channel's won leads (`Roi`).
//! - [`accounts`]: one account's leads, stages, committee and owners (`GetAccount`).
//! - [`duplicates`]: duplicate candidates, leads sharing a duplicate rule's key.
//! - [`identity`]: merged leads as readers see them (groups, the merge audit, decisions).
//! - [`gauges`]: what the metrics sampler reads (SLA clocks at risk and breached, the
//!   credits queue).
//! - `columns`: column arrays bound with `UNNEST`, declared once per statement.
//! - `sql/`: the static statements of the file modules (`NAME_<what>.sql` for `NAME.rs`);
//!   `projection/sql/` and `credits/sql/` hold those of the directory modules.

#![forbid(unsafe_code)]
#![recursion_limit = "256"]

pub mod account_funnel;
pub mod accounts;
pub mod applied;
pub mod bi;
pub mod checkpoints;
mod columns;
pub mod contact_keys;
pub mod credits;
pub mod cut;
pub mod db;
pub mod due;
pub mod duplicates;
mod error;
pub mod exits;
mod filters;
pub mod gauges;
pub mod identity;
pub mod keys;
pub mod leads;
pub mod lock;
pub mod ownership;
pub mod projection;
pub mod rebuild;
pub mod reevaluation;
pub mod reps;
pub mod sla_reports;
pub mod sla_whatif;
pub mod spend;
pub mod stays;
pub mod target_accounts;
pub mod timeline;
pub mod webhooks;

pub use db::Store;

pub use error::{count_shed, StoreError, SHED_METRIC};
