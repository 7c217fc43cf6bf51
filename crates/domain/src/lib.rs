//! leadledger's pure core: the event model, the lifecycle fold and the validation rules.
//!
//! Nothing here does I/O or reads the clock: every function is a plain function of its
//! arguments (the validator takes `now` as a parameter), so the same log always folds to
//! the same read models, and everything is unit- and property-testable.
//!
//! # Layout
//! - [`event`]: the event model (mirrors `proto/leadledger/v1/events.proto`).
//! - [`stage`]: lifecycle stages and transition kinds.
//! - [`fold`]: a lead's derived state from its timeline, ordered by business time.
//! - [`company`]: company domains normalised; consumer mail providers name no employer.
//! - [`cut`]: the events known by a record time and happened by a business time.
//! - [`identity`]: leads merged into a survivor and split off again, decided in log order.
//! - [`ids`]: deterministic event ids (UUIDv5).
//! - [`ownership`]: claim / assign requests decided in log order.
//! - [`privacy`]: sealed contacts, the erasure fact, the e-mail domain kept readable.
//! - [`reason`]: the reason codes of exits (rejected, recycled, disqualified, lost).
//! - [`spend`]: marketing spend statements (not facts about a lead) and their proration.
//! - [`validate`]: every rule a request must pass, reported as field violations.

#![forbid(unsafe_code)]

pub mod account;
pub mod company;
pub mod cut;
pub mod event;
pub mod fold;
pub mod identity;
pub mod ids;
pub mod ownership;
pub mod privacy;
pub mod reason;
pub mod spend;
pub mod stage;
pub mod validate;

pub use cut::Cut;
pub use event::{Event, Payload, SCHEMA_VERSION};
pub use fold::{fold, fold_with, timeline, LeadState, Transition, Visit};
pub use stage::{Stage, TransitionKind};
pub use validate::{FieldViolation, Violations};
