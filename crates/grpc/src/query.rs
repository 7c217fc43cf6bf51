//! The query service: leads, timelines, lists (`crate::list`), funnels, velocity (`crate::velocity`), cohorts
//! (`crate::cohorts`), exit reasons (`crate::reasons`) and the revenue equation
//! (`crate::revenue`) from the read models, with read-your-writes through consistency
//! tokens.

use leadledger_api::convert::{stored_stage_to_proto, time_from_proto, time_to_proto};
use leadledger_api::pb::{self, query_service_server::QueryService};
use leadledger_api::ApiError;
use leadledger_domain::Stage;
use leadledger_store::leads;
use prost::Message as _;
use tonic::{Request, Response, Status};

use crate::context::ReadContext;
use crate::list::lead_to_proto;

/// The query gRPC service.
#[derive(Clone)]
pub struct QuerySvc {
    ctx: ReadContext,
}

impl QuerySvc {
    pub fn new(ctx: ReadContext) -> Self {
        Self { ctx }
    }
}

fn optional_time(
    field: &str,
    t: Option<&prost_types::Timestamp>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
    t.map(|t| {
        time_from_proto(t).ok_or_else(|| ApiError::invalid_field(field, "not a valid timestamp"))
    })
    .transpose()
}

#[tonic::async_trait]
impl QueryService for QuerySvc {
    async fn get_lead(
        &self,
        request: Request<pb::GetLeadRequest>,
    ) -> Result<Response<pb::GetLeadResponse>, Status> {
        let r = request.get_ref();
        let tenant = self
            .ctx
            .admit(&request, &r.tenant_id, &r.consistency_token)
            .await?;
        let lead_id = &r.lead_id;
        if lead_id.is_empty() {
            return Err(ApiError::invalid_field("lead_id", "required").into());
        }
        let detail = leads::get_lead(&self.ctx.store().pool, &tenant, lead_id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::NotFound(format!("no lead {lead_id} for tenant {tenant}")))?;
        let mut lead = lead_to_proto(&detail.lead);
        lead.visits = detail
            .visits
            .iter()
            .map(|v| pb::StageVisit {
                stage: stored_stage_to_proto(Some(&v.stage)),
                entered_at: Some(time_to_proto(v.entered_at)),
                exited_at: v.exited_at.map(time_to_proto),
            })
            .collect();
        let transitions = detail
            .transitions
            .iter()
            .map(|t| pb::StageTransition {
                from_stage: stored_stage_to_proto(t.from_stage.as_deref()),
                to_stage: stored_stage_to_proto(Some(&t.to_stage)),
                at: Some(time_to_proto(t.at)),
                event_id: t.event_id.to_string(),
                kind: leadledger_domain::TransitionKind::parse(&t.kind).map_or(0, |k| k as i32),
                skipped: t
                    .skipped
                    .iter()
                    .map(|s| stored_stage_to_proto(Some(s)))
                    .collect(),
                exit: t.reason_code.as_deref().map(|code| {
                    crate::reasons::exit_reason(
                        code,
                        t.reason_text.as_deref().unwrap_or_default(),
                        t.exit_rep.as_deref().unwrap_or_default(),
                        t.exit_team.as_deref().unwrap_or_default(),
                        t.reached_stage.as_deref(),
                    )
                }),
            })
            .collect();
        let timeline = detail
            .timeline
            .iter()
            .map(|t| {
                // Decoded with this reader's schema; unknown payloads come back unset.
                let event = pb::Event::decode(t.raw.as_slice()).ok();
                pb::TimelineEntry {
                    event,
                    event_type: t.event_type.clone(),
                    position: Some(pb::LogPosition {
                        partition: t.log_partition,
                        offset: t.log_offset,
                    }),
                }
            })
            .collect();
        let merges = detail
            .merges
            .iter()
            .map(|m| pb::LeadMerge {
                lead_id: m.lead_id.clone(),
                merged_at: Some(time_to_proto(m.merged_at)),
                merged_by: m.merged_by.clone(),
                merge_reason: m.merge_reason.clone(),
                merge_intent_id: m.merge_intent.to_string(),
                unmerged_at: m.unmerged_at.map(time_to_proto),
                unmerged_by: m.unmerged_by.clone().unwrap_or_default(),
                unmerge_reason: m.unmerge_reason.clone().unwrap_or_default(),
                unmerge_intent_id: m.unmerge_intent.map(|i| i.to_string()).unwrap_or_default(),
            })
            .collect();
        Ok(Response::new(pb::GetLeadResponse {
            lead: Some(lead),
            timeline,
            transitions,
            merges,
            merged_lead_id: detail.asked_for_merged.unwrap_or_default(),
        }))
    }

    async fn get_account(
        &self,
        request: Request<pb::GetAccountRequest>,
    ) -> Result<Response<pb::GetAccountResponse>, Status> {
        Ok(Response::new(
            crate::account::get(&self.ctx, &request).await?,
        ))
    }

    async fn list_leads(
        &self,
        request: Request<pb::ListLeadsRequest>,
    ) -> Result<Response<pb::ListLeadsResponse>, Status> {
        crate::list::serve(&self.ctx, request).await
    }

    async fn funnel(
        &self,
        request: Request<pb::FunnelRequest>,
    ) -> Result<Response<pb::FunnelResponse>, Status> {
        let r = request.get_ref();
        let tenant = self
            .ctx
            .admit(&request, &r.tenant_id, &r.consistency_token)
            .await?;
        let mut v = leadledger_domain::Violations::default();
        let dims =
            crate::measures::dimensions(&mut v, &r.group_by, crate::measures::funnel_dimension);
        let cut = crate::measures::cut(&mut v, r.as_of.as_ref(), r.known_at.as_ref());
        if !v.is_empty() {
            return Err(ApiError::invalid(v).into());
        }
        let from = optional_time("captured_from", r.captured_from.as_ref())?;
        let to = optional_time("captured_to", r.captured_to.as_ref())?;
        let pool = &self.ctx.store().pool;
        let rows = if cut.is_live() {
            leads::funnel(pool, &tenant, &dims, from, to).await
        } else {
            leadledger_store::cut::funnel(pool, &tenant, &dims, from, to, &cut).await
        }
        .map_err(ApiError::from)?;
        let groups = rows
            .into_iter()
            .map(|row| pb::FunnelGroup {
                key: row.key,
                stages: Stage::MAIN_LINE
                    .iter()
                    .enumerate()
                    .map(|(i, s)| pb::StageCount {
                        stage: s.number(),
                        leads: row.reached[i],
                        conversion_from_previous: if i == 0 || row.reached[i - 1] == 0 {
                            0.0
                        } else {
                            row.reached[i] as f64 / row.reached[i - 1] as f64
                        },
                    })
                    .collect(),
                signed_amount_minor: row
                    .signed
                    .iter()
                    .map(|t| (t.currency.clone(), t.amount))
                    .collect(),
                collected_amount_minor: row
                    .signed
                    .into_iter()
                    .map(|t| (t.currency, t.collected))
                    .collect(),
            })
            .collect();
        Ok(Response::new(pb::FunnelResponse {
            group_by: r.group_by.clone(),
            groups,
        }))
    }

    async fn velocity(
        &self,
        request: Request<pb::VelocityRequest>,
    ) -> Result<Response<pb::VelocityResponse>, Status> {
        crate::velocity::serve(&self.ctx, request).await
    }

    async fn cohorts(
        &self,
        request: Request<pb::CohortsRequest>,
    ) -> Result<Response<pb::CohortsResponse>, Status> {
        crate::cohorts::serve(&self.ctx, request).await
    }

    async fn reasons(
        &self,
        request: Request<pb::ReasonsRequest>,
    ) -> Result<Response<pb::ReasonsResponse>, Status> {
        crate::reasons::serve(&self.ctx, request).await
    }

    async fn revenue_equation(
        &self,
        request: Request<pb::RevenueEquationRequest>,
    ) -> Result<Response<pb::RevenueEquationResponse>, Status> {
        crate::revenue::serve(&self.ctx, request).await
    }
}
