//! `SlaService`: the SLA report at an instant, partner leakage, the rep leaderboard, and (in
//! [`crate::sla_watch`]) the live alert stream, (in [`crate::sla_whatif`]) a candidate policy
//! file tried on the timelines. All of it reads the read models the projector keeps
//! (`sla_clocks`, `leads`, `lead_events`); the SQL is in `leadledger_store::sla_reports`.

use chrono::{DateTime, Duration, Utc};
use leadledger_api::convert::{owner_to_proto, time_to_proto};
use leadledger_api::pb::{self, sla_service_server::SlaService};
use leadledger_api::ApiError;
use leadledger_domain::event::Owner;
use leadledger_store::reps;
use leadledger_store::sla_reports::{self, AttentionCursor, ClockFilter};
use tonic::{Request, Response, Status};

use crate::context::{page_size, take_page, ReadContext};
use crate::sla_fields::{as_of_or_now, dimension, report_group, time_or};

/// Default age (days with the partner) before a partner-held lead counts for leakage.
pub const DEFAULT_MIN_DAYS: u32 = 14;

/// The SLA gRPC service (shares the query service's store and consistency waits).
#[derive(Clone)]
pub struct SlaSvc {
    pub(crate) query: ReadContext,
}

impl SlaSvc {
    pub fn new(query: ReadContext) -> Self {
        Self { query }
    }
}

/// Each clock state and its name in SQL (`sla_clock_state`, `sla_clocks.status`).
const STATES: [(pb::SlaClockState, &str); 7] = [
    (pb::SlaClockState::Open, "open"),
    (pb::SlaClockState::AtRisk, "at_risk"),
    (pb::SlaClockState::Breached, "breached"),
    (pb::SlaClockState::Met, "met"),
    (pb::SlaClockState::MetLate, "met_late"),
    (pb::SlaClockState::Stopped, "stopped"),
    (pb::SlaClockState::Paused, "paused"),
];

const NOT_A_STATE: &str =
    "is not a clock state (OPEN, AT_RISK, BREACHED, PAUSED, MET, MET_LATE or STOPPED)";

/// The states the attention list is asked for, as `sla_clock_state` names them; none given:
/// at risk and breached. Listed once each, whatever the request repeats.
fn listed_states(states: &[i32]) -> Result<Vec<&'static str>, ApiError> {
    if states.is_empty() {
        return Ok(vec!["at_risk", "breached"]);
    }
    let mut out = Vec::new();
    for (i, n) in states.iter().enumerate() {
        let Some((_, name)) = STATES.iter().find(|(state, _)| *state as i32 == *n) else {
            let field = format!("clock_states[{i}]");
            return Err(ApiError::invalid_field(field, format!("{n} {NOT_A_STATE}")));
        };
        if !out.contains(name) {
            out.push(*name);
        }
    }
    Ok(out)
}

fn state_number(s: &str) -> i32 {
    STATES
        .iter()
        .find(|(_, name)| *name == s)
        .map_or(pb::SlaClockState::Unspecified, |(state, _)| *state) as i32
}

/// Page token of the attention list: `micros|start_event_id|policy|lead` (the lead last,
/// so it may contain the separator).
fn encode_cursor(c: &AttentionCursor) -> String {
    format!(
        "{}|{}|{}|{}",
        c.due_at.timestamp_micros(),
        c.start_event_id,
        c.policy_id,
        c.lead_id
    )
}

fn decode_cursor(s: &str) -> Result<Option<AttentionCursor>, ApiError> {
    if s.is_empty() {
        return Ok(None);
    }
    let bad = || ApiError::invalid_field("page_token", "not a page token issued by this service");
    let mut parts = s.splitn(4, '|');
    let mut next = || parts.next().ok_or_else(bad);
    let micros: i64 = next()?.parse().map_err(|_| bad())?;
    let start_event_id = next()?.parse().map_err(|_| bad())?;
    let policy_id = next()?.to_string();
    let lead_id = next()?.to_string();
    Ok(Some(AttentionCursor {
        due_at: DateTime::from_timestamp_micros(micros).ok_or_else(bad)?,
        lead_id,
        policy_id,
        start_event_id,
    }))
}

#[tonic::async_trait]
impl SlaService for SlaSvc {
    async fn sla_report(
        &self,
        request: Request<pb::SlaReportRequest>,
    ) -> Result<Response<pb::SlaReportResponse>, Status> {
        let r = request.get_ref();
        let tenant = self
            .query
            .admit(&request, &r.tenant_id, &r.consistency_token)
            .await?;
        let as_of = as_of_or_now(r.as_of.as_ref())?;
        let filter = ClockFilter {
            as_of,
            started_from: time_or("started_from", r.started_from.as_ref(), None)?,
            started_to: time_or("started_to", r.started_to.as_ref(), None)?,
            policies: r.policy_ids.clone(),
        };
        if let (Some(from), Some(to)) = (filter.started_from, filter.started_to) {
            if from >= to {
                return Err(
                    ApiError::invalid_field("started_to", "must be after started_from").into(),
                );
            }
        }
        let dim = dimension(r.group_by)?;
        let page_size = page_size(r.page_size)?;
        let cursor = decode_cursor(&r.page_token)?;
        let states = listed_states(&r.clock_states)?;
        let pool = &self.query.store().pool;
        let groups = sla_reports::report(pool, &tenant, dim, &filter)
            .await
            .map_err(ApiError::from)?;
        let rows = sla_reports::attention(
            pool,
            &tenant,
            &filter,
            &states,
            cursor.as_ref(),
            page_size + 1,
        )
        .await
        .map_err(ApiError::from)?;
        let (rows, more) = take_page(rows, page_size);
        let next_page_token = match rows.last() {
            Some(l) if more => encode_cursor(&AttentionCursor {
                due_at: l.due_at,
                lead_id: l.lead_id.clone(),
                policy_id: l.policy_id.clone(),
                start_event_id: l.start_event_id,
            }),
            _ => String::new(),
        };
        let attention = rows
            .into_iter()
            .map(|c| pb::SlaClock {
                lead_id: c.lead_id,
                policy_id: c.policy_id,
                policy_version: u32::try_from(c.policy_version).unwrap_or(0),
                start_event_id: c.start_event_id.to_string(),
                started_at: Some(time_to_proto(c.started_at)),
                due_at: Some(time_to_proto(c.due_at)),
                state: state_number(&c.state),
                paused_at: c.paused_at.map(time_to_proto),
                owner: Some(owner_to_proto(&Owner {
                    team: c.owner_team,
                    queue: c.owner_queue,
                    rep_id: c.owner_rep_id,
                    partner_id: c.owner_partner_id,
                })),
            })
            .collect();
        Ok(Response::new(pb::SlaReportResponse {
            as_of: Some(time_to_proto(as_of)),
            groups: groups.into_iter().map(report_group).collect(),
            attention,
            next_page_token,
        }))
    }

    type WatchSlaStream = crate::sla_watch::AlertStream;

    async fn watch_sla(
        &self,
        request: Request<pb::WatchSlaRequest>,
    ) -> Result<Response<Self::WatchSlaStream>, Status> {
        Ok(Response::new(crate::sla_watch::watch(
            &self.query,
            request,
        )?))
    }

    async fn rep_leaderboard(
        &self,
        request: Request<pb::RepLeaderboardRequest>,
    ) -> Result<Response<pb::RepLeaderboardResponse>, Status> {
        let r = request.get_ref();
        let tenant = self
            .query
            .admit(&request, &r.tenant_id, &r.consistency_token)
            .await?;
        let known_at = time_or("known_at", r.known_at.as_ref(), None)?;
        let cut = leadledger_domain::Cut {
            as_of: time_or("as_of", r.as_of.as_ref(), None)?,
            known_at,
        };
        let as_of = cut.as_of.unwrap_or_else(Utc::now);
        let policy = if r.policy_id.is_empty() {
            "mql-follow-up"
        } else {
            r.policy_id.as_str()
        };
        let pool = &self.query.store().pool;
        let currency = if r.currency.is_empty() {
            leadledger_store::leads::main_currency(pool, &tenant)
                .await
                .map_err(ApiError::from)?
                .unwrap_or_default()
        } else if leadledger_domain::validate::is_currency(&r.currency) {
            r.currency.clone()
        } else {
            return Err(ApiError::invalid_field("currency", "must be an ISO 4217 code").into());
        };
        let lines = if cut.is_live() {
            reps::leaderboard(pool, &tenant, as_of, policy, &currency).await
        } else {
            let d = self.query.policies();
            reps::leaderboard_at_cut(pool, &tenant, &cut, as_of, policy, &currency, d).await
        }
        .map_err(ApiError::from)?;
        Ok(Response::new(pb::RepLeaderboardResponse {
            as_of: Some(time_to_proto(as_of)),
            currency,
            reps: lines
                .into_iter()
                .map(|l| pb::RepLine {
                    compliance_pct: l.compliance().map(|c| 100.0 * c),
                    feedback_pct: l.feedback.map(|f| 100.0 * f),
                    median_follow_up_hours: l.median_hours,
                    rep_id: l.rep_id,
                    team: l.team,
                    leads: l.leads,
                    sqls: l.sqls,
                    signed: l.signed,
                    revenue_minor: l.revenue_minor,
                    clocks: l.clocks,
                    met: l.met,
                })
                .collect(),
        }))
    }

    async fn sla_what_if(
        &self,
        request: Request<pb::SlaWhatIfRequest>,
    ) -> Result<Response<pb::SlaWhatIfResponse>, Status> {
        crate::sla_whatif::answer(&self.query, request).await
    }

    async fn partner_leakage(
        &self,
        request: Request<pb::PartnerLeakageRequest>,
    ) -> Result<Response<pb::PartnerLeakageResponse>, Status> {
        let r = request.get_ref();
        let tenant = self
            .query
            .admit(&request, &r.tenant_id, &r.consistency_token)
            .await?;
        let as_of = as_of_or_now(r.as_of.as_ref())?;
        let min_days = match r.min_days {
            0 => DEFAULT_MIN_DAYS,
            n @ 1..=3650 => n,
            _ => return Err(ApiError::invalid_field("min_days", "must be 1..3650").into()),
        };
        let max_ids = match r.max_lead_ids {
            0 => 100,
            n @ 1..=1000 => i64::from(n),
            _ => return Err(ApiError::invalid_field("max_lead_ids", "must be 0..1000").into()),
        };
        let cutoff = as_of - Duration::days(i64::from(min_days));
        let rows =
            sla_reports::partner_leakage(&self.query.store().pool, &tenant, as_of, cutoff, max_ids)
                .await
                .map_err(ApiError::from)?;
        Ok(Response::new(pb::PartnerLeakageResponse {
            as_of: Some(time_to_proto(as_of)),
            partners: rows
                .into_iter()
                .map(|p| pb::PartnerLeakage {
                    leakage_pct: if p.handed_off > 0 {
                        100.0 * p.leaked as f64 / p.handed_off as f64
                    } else {
                        0.0
                    },
                    partner_id: p.partner_id,
                    handed_off: p.handed_off,
                    leaked: p.leaked,
                    leaked_lead_ids: p.leaked_lead_ids,
                })
                .collect(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_states_default_to_attention_and_refuse_unknown_values() {
        assert_eq!(listed_states(&[]).unwrap(), ["at_risk", "breached"]);
        let open = pb::SlaClockState::Open as i32;
        let breached = pb::SlaClockState::Breached as i32;
        assert_eq!(
            listed_states(&[open, breached, open]).unwrap(),
            ["open", "breached"]
        );
        for bad in [0, 99, -1] {
            let err = listed_states(&[open, bad]).unwrap_err();
            assert!(format!("{err:?}").contains("clock_states[1]"), "{err:?}");
        }
    }

    #[test]
    fn attention_cursor_round_trips_with_separators_in_the_lead_id() {
        let c = AttentionCursor {
            due_at: DateTime::from_timestamp_micros(1_767_225_600_123_456).unwrap(),
            lead_id: "L|1".into(),
            policy_id: "mql-follow-up".into(),
            start_event_id: uuid::Uuid::from_u128(7),
        };
        assert_eq!(decode_cursor(&encode_cursor(&c)).unwrap(), Some(c));
        assert!(decode_cursor("nope").is_err());
        assert_eq!(decode_cursor("").unwrap(), None);
    }
}
