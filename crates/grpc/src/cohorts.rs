//! `QueryService.Cohorts`: its request checked field by field, the tenant's leads streamed
//! into `leadledger_analytics::cohorts` (definitions: docs/ANALYTICS.md).

use chrono::{DateTime, Utc};
use leadledger_analytics::cohorts::{Accumulator, Params, Period, STAGES};
use leadledger_api::convert::time_to_proto;
use leadledger_api::pb;
use leadledger_api::ApiError;
use leadledger_domain::Violations;
use leadledger_store::stays::{self, StaysQuery};
use tonic::{Request, Response, Status};

use crate::context::ReadContext;
use crate::measures;

/// Points per curve when the request says 0.
pub const DEFAULT_WEEKS: u32 = 26;
/// The most points per curve (two years).
pub const MAX_WEEKS: u32 = 104;

/// The request as the store and the computation take it, with every violation at once.
pub fn parse(r: &pb::CohortsRequest, now: DateTime<Utc>) -> Result<(StaysQuery, Params), ApiError> {
    let mut v = Violations::default();
    let cut = measures::cut(&mut v, r.as_of.as_ref(), r.known_at.as_ref());
    let query = measures::leads(
        &mut v,
        &r.group_by,
        r.captured_from.as_ref(),
        r.captured_to.as_ref(),
        cut,
    );
    let period = match pb::CohortPeriod::try_from(r.period) {
        Ok(pb::CohortPeriod::Unspecified | pb::CohortPeriod::Month) => Period::Month,
        Ok(pb::CohortPeriod::Week) => Period::Week,
        Err(_) => {
            v.add("period", format!("unknown period {}", r.period));
            Period::Month
        }
    };
    if r.weeks > MAX_WEEKS {
        v.add("weeks", format!("at most {MAX_WEEKS}"));
    }
    let at = measures::time(&mut v, "at", r.at.as_ref()).unwrap_or(cut.as_of.unwrap_or(now));
    if !v.is_empty() {
        return Err(ApiError::invalid(v));
    }
    let weeks = match r.weeks {
        0 => DEFAULT_WEEKS,
        n => n,
    };
    Ok((query, Params { period, weeks, at }))
}

/// Serves one `Cohorts` call.
pub async fn serve(
    ctx: &ReadContext,
    request: Request<pb::CohortsRequest>,
) -> Result<Response<pb::CohortsResponse>, Status> {
    let r = request.get_ref();
    let (tenant, (query, params)) =
        measures::admit(ctx, &request, &r.tenant_id, &r.consistency_token, || {
            parse(r, Utc::now())
        })
        .await?;
    let mut acc = Accumulator::new(params);
    stays::for_each_lead(&ctx.store().pool, &tenant, &query, |lead| acc.add(&lead))
        .await
        .map_err(ApiError::from)?;
    let cohorts = acc
        .finish()
        .into_iter()
        .map(|c| {
            let leads = c.leads as i64;
            let curves = STAGES
                .iter()
                .zip(c.reached)
                .map(|(stage, reached)| pb::CohortCurve {
                    stage: stage.number(),
                    share: reached
                        .iter()
                        .map(|n| {
                            if leads == 0 {
                                0.0
                            } else {
                                *n as f64 / leads as f64
                            }
                        })
                        .collect(),
                    reached: reached.into_iter().map(|n| n as i64).collect(),
                })
                .collect();
            pb::Cohort {
                key: c.key,
                cohort: c.cohort,
                leads,
                complete_weeks: c.complete_weeks,
                curves,
            }
        })
        .collect();
    Ok(Response::new(pb::CohortsResponse {
        group_by: r.group_by.clone(),
        period: match params.period {
            Period::Month => pb::CohortPeriod::Month,
            Period::Week => pb::CohortPeriod::Week,
        } as i32,
        weeks: params.weeks,
        cohorts,
        at: Some(time_to_proto(params.at)),
    }))
}
