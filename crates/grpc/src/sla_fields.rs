//! The request fields and the report groups the SLA RPCs share (`SlaReport`,
//! `RepLeaderboard`, `PartnerLeakage` in [`crate::sla`], `SlaWhatIf` in `sla_whatif`).

use chrono::{DateTime, Utc};
use leadledger_api::convert::time_from_proto;
use leadledger_api::pb;
use leadledger_api::ApiError;
use leadledger_store::sla_reports::{self, SlaDimension};

/// An optional timestamp field; `default` when unset.
pub(crate) fn time_or(
    field: &str,
    t: Option<&prost_types::Timestamp>,
    default: Option<DateTime<Utc>>,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    match t {
        None => Ok(default),
        Some(t) => time_from_proto(t)
            .map(Some)
            .ok_or_else(|| ApiError::invalid_field(field, "not a valid timestamp")),
    }
}

/// A request's `as_of`: now when unset.
pub(crate) fn as_of_or_now(t: Option<&prost_types::Timestamp>) -> Result<DateTime<Utc>, ApiError> {
    Ok(time_or("as_of", t, None)?.unwrap_or_else(Utc::now))
}

pub(crate) fn dimension(n: i32) -> Result<SlaDimension, ApiError> {
    Ok(match pb::SlaGroupBy::try_from(n) {
        Ok(pb::SlaGroupBy::Rep) => SlaDimension::Rep,
        Ok(pb::SlaGroupBy::Team) => SlaDimension::Team,
        Ok(pb::SlaGroupBy::Segment) => SlaDimension::Segment,
        Ok(pb::SlaGroupBy::Channel) => SlaDimension::Channel,
        Ok(pb::SlaGroupBy::Region) => SlaDimension::Region,
        Ok(pb::SlaGroupBy::Period) => SlaDimension::Period,
        Ok(pb::SlaGroupBy::Policy | pb::SlaGroupBy::Unspecified) => SlaDimension::Policy,
        Err(_) => {
            return Err(ApiError::invalid_field(
                "group_by",
                format!("unknown value {n}"),
            ))
        }
    })
}

pub(crate) fn report_group(r: sla_reports::ReportRow) -> pb::SlaReportGroup {
    let measured = r.met + r.met_late + r.breached + r.stopped_breached;
    pb::SlaReportGroup {
        key: r.key,
        policy_id: r.policy_id,
        clocks: r.clocks,
        met: r.met,
        met_late: r.met_late,
        breached: r.breached,
        stopped: r.stopped,
        stopped_breached: r.stopped_breached,
        open: r.open,
        at_risk: r.at_risk,
        paused: r.paused,
        policy_versions: r
            .policy_versions
            .iter()
            .map(|v| u32::try_from(*v).unwrap_or(0))
            .collect(),
        measured,
        compliance_pct: (measured > 0).then(|| 100.0 * r.met as f64 / measured as f64),
        median_seconds_to_target: r.median_s,
        p90_seconds_to_target: r.p90_s,
    }
}
