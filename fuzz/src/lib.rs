//! Shared pieces of the fuzz targets: an `arbitrary` mirror of the wire event, Kafka records
//! with raw header bytes, and the seed corpus.
//!
//! The targets themselves are in `fuzz_targets/`; `scripts/fuzz.sh` runs them.

pub mod arb;
pub mod record;
pub mod seeds;

use chrono::{DateTime, Utc};

/// The `now` every target validates at (2026-01-01T00:00:00Z): fixed, so a crash reproduces.
pub const NOW_SECONDS: i64 = 1_767_225_600;

/// [`NOW_SECONDS`] as a time.
pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(NOW_SECONDS, 0).expect("a valid time")
}

/// The traceparent the targets pass to the ingest validator.
pub const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

/// [`TRACEPARENT`] as the trace context an event carries.
pub fn trace_context() -> leadledger_api::pb::TraceContext {
    leadledger_api::pb::TraceContext {
        traceparent: TRACEPARENT.into(),
        tracestate: String::new(),
    }
}
