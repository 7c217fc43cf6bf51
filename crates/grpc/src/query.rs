//! The query service: leads, timelines, lists (`crate::list`), funnels (`crate::funnel`), velocity (`crate::velocity`), cohorts
//! (`crate::cohorts`), exit reasons (`crate::reasons`) and the revenue equation
//! (`crate::revenue`) from the read models, with read-your-writes through consistency
//! tokens.

use leadledger_api::convert::{stored_stage_to_proto, time_to_proto};
use leadledger_api::pb::{self, query_service_server::QueryService};
use leadledger_api::ApiError;
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

    async fn list_target_accounts(
        &self,
        request: Request<pb::ListTargetAccountsRequest>,
    ) -> Result<Response<pb::ListTargetAccountsResponse>, Status> {
        Ok(Response::new(
            crate::target_accounts::list(&self.ctx, &request).await?,
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
        crate::funnel::serve(&self.ctx, request).await
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
