//! `QueryService.Velocity`: its request checked field by field, the store's rows turned into
//! the answer (definitions: docs/ANALYTICS.md).

use chrono::{DateTime, TimeDelta, Utc};
use leadledger_analytics::velocity::{is_final, Accumulator, Params, StageSet};
use leadledger_api::convert::time_to_proto;
use leadledger_api::pb;
use leadledger_api::ApiError;
use leadledger_domain::{Stage, Violations};
use leadledger_store::stays::{self, StaysQuery};
use tonic::{Request, Response, Status};

use crate::context::ReadContext;
use crate::measures;

/// The conversion window when the request sets none.
pub const DEFAULT_WINDOW_DAYS: i64 = 90;
/// The longest conversion window accepted.
pub const MAX_WINDOW_DAYS: i64 = 3650;
/// Stalled leads listed when the request says 0.
pub const DEFAULT_STALLED_LIMIT: u32 = 100;
/// The most stalled leads one answer lists.
pub const MAX_STALLED_LIMIT: u32 = 1000;

/// The window, or a violation (and the default).
fn window(v: &mut Violations, w: Option<&prost_types::Duration>) -> TimeDelta {
    measures::duration(v, "window", w, MAX_WINDOW_DAYS)
        .unwrap_or(TimeDelta::days(DEFAULT_WINDOW_DAYS))
}

/// The request as the store takes it, with every field violation at once.
pub fn parse(
    r: &pb::VelocityRequest,
    now: DateTime<Utc>,
) -> Result<(StaysQuery, Params), ApiError> {
    let mut v = Violations::default();
    let cut = measures::cut(&mut v, r.as_of.as_ref(), r.known_at.as_ref());
    let query = measures::leads(
        &mut v,
        &r.group_by,
        r.captured_from.as_ref(),
        r.captured_to.as_ref(),
        cut,
    );
    let window = window(&mut v, r.window.as_ref());
    let at = measures::time(&mut v, "at", r.at.as_ref()).unwrap_or(cut.as_of.unwrap_or(now));
    if r.stalled_limit > MAX_STALLED_LIMIT {
        v.add("stalled_limit", format!("at most {MAX_STALLED_LIMIT}"));
    }
    let mut stalled_stages = StageSet::default();
    for (i, n) in r.stalled_stages.iter().enumerate() {
        match Stage::from_number(*n) {
            None => v.add(format!("stalled_stages[{i}]"), format!("unknown stage {n}")),
            Some(s) if is_final(s) => v.add(
                format!("stalled_stages[{i}]"),
                format!("{} is final: a lead never stalls there", s.as_str()),
            ),
            Some(s) => stalled_stages.insert(s),
        }
    }
    let stalled_limit = match r.stalled_limit {
        0 => DEFAULT_STALLED_LIMIT,
        n => n,
    };
    if !v.is_empty() {
        return Err(ApiError::invalid(v));
    }
    let params = Params {
        window,
        at,
        stalled_limit: stalled_limit as usize,
        stalled_stages,
    };
    Ok((query, params))
}

fn seconds(us: i64) -> f64 {
    us as f64 / 1e6
}

/// Serves one `Velocity` call.
pub async fn serve(
    ctx: &ReadContext,
    request: Request<pb::VelocityRequest>,
) -> Result<Response<pb::VelocityResponse>, Status> {
    let r = request.get_ref();
    let (tenant, (query, params)) =
        measures::admit(ctx, &request, &r.tenant_id, &r.consistency_token, || {
            parse(r, Utc::now())
        })
        .await?;
    let mut acc = Accumulator::new(params);
    stays::for_each_lead(&ctx.store().pool, &tenant, &query, |lead| acc.add(lead))
        .await
        .map_err(ApiError::from)?;
    let v = acc.finish();
    let groups = v
        .groups
        .into_iter()
        .map(|g| pb::VelocityGroup {
            key: g.key,
            stages: g
                .stages
                .into_iter()
                .map(|f| pb::StageVelocity {
                    stage: f.stage.number(),
                    completed_stays: f.completed as i64,
                    open_stays: f.open as i64,
                    p50_seconds: f.p50_us.map_or(0.0, seconds),
                    p90_seconds: f.p90_us.map_or(0.0, seconds),
                    mean_seconds: f.mean_s.unwrap_or(0.0),
                    entered: f.entered as i64,
                    advanced_within_window: f.advanced as i64,
                    conversion_within_window: if f.entered == 0 {
                        0.0
                    } else {
                        f.advanced as f64 / f.entered as f64
                    },
                    stalled: f.stalled as i64,
                })
                .collect(),
        })
        .collect();
    let stalled = v
        .stalled
        .into_iter()
        .map(|s| pb::StalledLead {
            lead_id: s.lead_id,
            key: s.key,
            stage: s.stage.number(),
            entered_at: Some(time_to_proto(s.entered_at)),
            in_stage_seconds: seconds(s.in_stage_us),
            p90_seconds: seconds(s.p90_us),
            owner: Some(pb::Owner {
                team: s.owner.team,
                queue: s.owner.queue,
                rep_id: s.owner.rep_id,
                partner_id: s.owner.partner_id,
            }),
        })
        .collect();
    let window = params.window;
    Ok(Response::new(pb::VelocityResponse {
        group_by: r.group_by.clone(),
        groups,
        stalled,
        window: Some(prost_types::Duration {
            seconds: window.num_seconds(),
            nanos: window.subsec_nanos(),
        }),
        at: Some(time_to_proto(params.at)),
    }))
}
