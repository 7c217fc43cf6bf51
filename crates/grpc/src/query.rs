//! The query service: leads, timelines, funnels, velocity (`crate::velocity`), cohorts
//! (`crate::cohorts`), exit reasons (`crate::reasons`) and the revenue equation
//! (`crate::revenue`) from the read models, with read-your-writes through consistency
//! tokens.

use leadledger_api::convert::{stored_stage_to_proto, time_from_proto, time_to_proto};
use leadledger_api::pb::{self, query_service_server::QueryService};
use leadledger_api::ApiError;
use leadledger_domain::Stage;
use leadledger_store::leads::{self, Cursor, LeadFilter, LeadRow};
use prost::Message as _;
use tonic::{Request, Response, Status};

use crate::context::{page_size, take_page, ReadContext};

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

fn lead_to_proto(r: &LeadRow) -> pb::Lead {
    pb::Lead {
        tenant_id: r.tenant_id.clone(),
        lead_id: r.lead_id.clone(),
        stage: stored_stage_to_proto(r.stage.as_deref()),
        owner: Some(pb::Owner {
            team: r.owner_team.clone(),
            queue: r.owner_queue.clone(),
            rep_id: r.owner_rep_id.clone(),
            partner_id: r.owner_partner_id.clone(),
        }),
        contact: Some(pb::Contact {
            email: r.email.clone(),
            phone: r.phone.clone(),
            name: r.contact_name.clone(),
            title: r.contact_title.clone(),
        }),
        company: Some(pb::Company {
            name: r.company_name.clone(),
            domain: r.company_domain.clone(),
            region: r.region.clone(),
            industry: r.industry.clone(),
            segment: match r.segment.as_str() {
                "KA" => pb::Segment::Ka,
                "SMB" => pb::Segment::Smb,
                _ => pb::Segment::Unspecified,
            } as i32,
            employees: u32::try_from(r.employees).unwrap_or(0),
        }),
        source: Some(pb::LeadSource {
            channel: r.channel.clone(),
            campaign: r.campaign.clone(),
            medium: r.medium.clone(),
            keyword: r.keyword.clone(),
            utm_source: r.utm_source.clone(),
            utm_medium: r.utm_medium.clone(),
            utm_campaign: r.utm_campaign.clone(),
            utm_term: r.utm_term.clone(),
            utm_content: r.utm_content.clone(),
            landing_page: r.landing_page.clone(),
            referrer: r.referrer.clone(),
            offline_activity_id: r.offline_activity_id.clone(),
        }),
        captured_at: r.captured_at.map(time_to_proto),
        visits: Vec::new(),
        event_count: u32::try_from(r.event_count).unwrap_or(0),
        last_event_at: r.last_event_at.map(time_to_proto),
        signed_amount_minor: r.signed_amount_minor,
        signed_currency: r.signed_currency.clone(),
        collected_amount_minor: r.collected_amount_minor,
        feedback_required: u32::try_from(r.feedback_required).unwrap_or(0),
        feedback_filled: u32::try_from(r.feedback_filled).unwrap_or(0),
    }
}

fn encode_cursor(r: &LeadRow) -> String {
    let ts = r.captured_at.map_or(0, |t| t.timestamp_micros());
    format!("{ts}:{}", r.lead_id)
}

fn decode_cursor(s: &str) -> Result<Option<Cursor>, ApiError> {
    if s.is_empty() {
        return Ok(None);
    }
    let bad = || ApiError::invalid_field("page_token", "not a page token issued by this service");
    let (ts, lead) = s.split_once(':').ok_or_else(bad)?;
    let micros: i64 = ts.parse().map_err(|_| bad())?;
    let captured_at = chrono::DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
    Ok(Some(Cursor {
        captured_at,
        lead_id: lead.to_string(),
    }))
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
        Ok(Response::new(pb::GetLeadResponse {
            lead: Some(lead),
            timeline,
            transitions,
        }))
    }

    async fn list_leads(
        &self,
        request: Request<pb::ListLeadsRequest>,
    ) -> Result<Response<pb::ListLeadsResponse>, Status> {
        let r = request.get_ref();
        let tenant = self
            .ctx
            .admit(&request, &r.tenant_id, &r.consistency_token)
            .await?;
        let page_size = page_size(r.page_size)?;
        let mut stages = Vec::new();
        for (i, s) in r.stages.iter().enumerate() {
            let st = Stage::from_number(*s).ok_or_else(|| {
                ApiError::invalid_field(format!("stages[{i}]"), format!("unknown stage {s}"))
            })?;
            stages.push(st.as_str().to_string());
        }
        let segment = match pb::Segment::try_from(r.segment) {
            Ok(pb::Segment::Unspecified) => "",
            Ok(pb::Segment::Ka) => "KA",
            Ok(pb::Segment::Smb) => "SMB",
            Err(_) => return Err(ApiError::invalid_field("segment", "unknown segment").into()),
        };
        let mut v = leadledger_domain::Violations::default();
        let reached_rank = match r.reached {
            0 => None,
            n => match Stage::from_number(n).and_then(Stage::rank) {
                Some(rank) => Some(i16::from(rank)),
                None => {
                    v.add("reached", format!("{n} is no main-line stage"));
                    None
                }
            },
        };
        if !r.signed_currency.is_empty()
            && !leadledger_domain::validate::is_currency(&r.signed_currency)
        {
            v.add(
                "signed_currency",
                "must be an ISO 4217 code such as CNY, USD or EUR",
            );
        }
        if !v.is_empty() {
            return Err(ApiError::invalid(v).into());
        }
        let filter = LeadFilter {
            stages,
            channel: r.channel.clone(),
            campaign: r.campaign.clone(),
            region: r.region.clone(),
            industry: r.industry.clone(),
            segment: segment.to_string(),
            owner_rep_id: r.owner_rep_id.clone(),
            captured_from: optional_time("captured_from", r.captured_from.as_ref())?,
            captured_to: optional_time("captured_to", r.captured_to.as_ref())?,
            reached_rank,
            signed_currency: r.signed_currency.clone(),
        };
        let cursor = decode_cursor(&r.page_token)?;
        let rows = leads::list_leads(
            &self.ctx.store().pool,
            &tenant,
            &filter,
            cursor.as_ref(),
            page_size + 1,
        )
        .await
        .map_err(ApiError::from)?;
        let (rows, more) = take_page(rows, page_size);
        let next_page_token = if more {
            rows.last().map(encode_cursor).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(pb::ListLeadsResponse {
            leads: rows.iter().map(lead_to_proto).collect(),
            next_page_token,
        }))
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
        if !v.is_empty() {
            return Err(ApiError::invalid(v).into());
        }
        let from = optional_time("captured_from", r.captured_from.as_ref())?;
        let to = optional_time("captured_to", r.captured_to.as_ref())?;
        let rows = leads::funnel(&self.ctx.store().pool, &tenant, &dims, from, to)
            .await
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
