//! `SlaWhatIf`: a candidate policy file, validated like the file, evaluated over the
//! tenant's timelines beside the live policies ([`leadledger_store::sla_whatif`]). Nothing
//! is written; the live clocks stay as they are.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;
use leadledger_api::convert::time_to_proto;
use leadledger_api::pb;
use leadledger_api::ApiError;
use leadledger_sla::tally::Tally;
use leadledger_sla::PolicySet;
use leadledger_store::sla_whatif::{self, report_row, Tallies, WhatIf};
use tonic::{Request, Response, Status};

use crate::context::ReadContext;
use crate::sla_fields::{as_of_or_now, dimension, report_group, time_or};

/// Largest candidate file accepted.
pub const MAX_POLICY_FILE: usize = 64 * 1024;
/// Widest window of clock starts.
pub const MAX_WINDOW_DAYS: i64 = 366;

/// One what-if at a time per process: each reads and evaluates a whole tenant; more wait
/// (within their deadline) rather than take every core.
static ONE_AT_A_TIME: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// The candidate file, parsed and validated like the policy file at start.
fn candidate(text: &str) -> Result<PolicySet, ApiError> {
    if text.trim().is_empty() {
        return Err(ApiError::invalid_field(
            "policy_file",
            "required: the candidate policy file (TOML, docs/SLA.md)",
        ));
    }
    if text.len() > MAX_POLICY_FILE {
        return Err(ApiError::invalid_field(
            "policy_file",
            format!(
                "at most {} KiB (got {} bytes)",
                MAX_POLICY_FILE / 1024,
                text.len()
            ),
        ));
    }
    PolicySet::from_toml(text).map_err(|e| ApiError::invalid_field("policy_file", e.to_string()))
}

/// Each policy's tallies of every group, merged.
fn totals(t: &Tallies) -> BTreeMap<&str, Tally> {
    let mut out: BTreeMap<&str, Tally> = BTreeMap::new();
    for ((_, policy), tally) in t {
        out.entry(policy.as_str()).or_default().merge(tally);
    }
    out
}

fn groups(t: &Tallies) -> Vec<pb::SlaReportGroup> {
    t.iter()
        .map(|((key, policy), tally)| report_group(report_row(key, policy, tally)))
        .collect()
}

/// Per policy id of either file: the two totals side by side.
fn differences(
    live_set: &PolicySet,
    candidate_set: &PolicySet,
    live: &Tallies,
    candidate: &Tallies,
) -> Vec<pb::SlaPolicyDifference> {
    let (lt, ct) = (totals(live), totals(candidate));
    let ids: BTreeSet<&str> = live_set
        .policies
        .iter()
        .chain(&candidate_set.policies)
        .map(|p| p.id.as_str())
        .collect();
    let version = |set: &PolicySet, id: &str| set.get(id).map_or(0, |p| p.version);
    ids.into_iter()
        .map(|id| {
            let empty = Tally::default();
            let (l, c) = (lt.get(id).unwrap_or(&empty), ct.get(id).unwrap_or(&empty));
            pb::SlaPolicyDifference {
                policy_id: id.to_string(),
                live_version: version(live_set, id),
                candidate_version: version(candidate_set, id),
                live: Some(report_group(report_row("", id, l))),
                candidate: Some(report_group(report_row("", id, c))),
                compliance_change_points: c
                    .compliance_pct()
                    .zip(l.compliance_pct())
                    .map(|(c, l)| c - l),
                breaches_change: c.breaches() - l.breaches(),
            }
        })
        .collect()
}

pub(crate) async fn answer(
    query: &ReadContext,
    request: Request<pb::SlaWhatIfRequest>,
) -> Result<Response<pb::SlaWhatIfResponse>, Status> {
    let r = request.get_ref();
    let tenant = query
        .admit(&request, &r.tenant_id, &r.consistency_token)
        .await?;
    let candidate_set = candidate(&r.policy_file)?;
    let as_of = as_of_or_now(r.as_of.as_ref())?;
    let required = |field: &str, t: Option<&prost_types::Timestamp>| {
        time_or(field, t, None)?.ok_or_else(|| ApiError::invalid_field(field, "required"))
    };
    let started_from = required("started_from", r.started_from.as_ref())?;
    let started_to = required("started_to", r.started_to.as_ref())?;
    if started_to <= started_from {
        return Err(ApiError::invalid_field("started_to", "must be after started_from").into());
    }
    if started_to - started_from > Duration::days(MAX_WINDOW_DAYS) {
        return Err(ApiError::invalid_field(
            "started_to",
            format!("at most {MAX_WINDOW_DAYS} days after started_from"),
        )
        .into());
    }
    if started_from > as_of {
        return Err(ApiError::invalid_field("started_from", "must not be after as_of").into());
    }
    let w = WhatIf {
        as_of,
        started_from,
        started_to,
        dim: dimension(r.group_by)?,
    };
    let live_set = query.policies().policies(&tenant);
    let _turn = ONE_AT_A_TIME
        .acquire()
        .await
        .map_err(|_| ApiError::Unavailable("the server is stopping".into()))?;
    let report = sla_whatif::what_if(&query.store().pool, &tenant, &w, live_set, &candidate_set)
        .await
        .map_err(ApiError::from)?;
    Ok(Response::new(pb::SlaWhatIfResponse {
        as_of: Some(time_to_proto(as_of)),
        groups: groups(&report.candidate),
        live_groups: groups(&report.live),
        differences: differences(live_set, &candidate_set, &report.live, &report.candidate),
        leads: report.leads,
    }))
}
