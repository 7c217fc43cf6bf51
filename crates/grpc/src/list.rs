//! `QueryService.ListLeads`: the leads behind any figure. Its filters are those of the
//! measures' cells (docs/ANALYTICS.md, "Opening a figure"); with `as_of` or `known_at` it
//! lists the leads as that cut of the log folds them, like the measures asked at it.

use leadledger_api::convert::{stored_stage_to_proto, time_to_proto};
use leadledger_api::pb;
use leadledger_api::ApiError;
use leadledger_domain::account::ContactRole;
use leadledger_domain::{Stage, Violations};
use leadledger_store::leads::{self, Cursor, ExitFilter, LeadFilter, LeadRow};
use tonic::{Request, Response, Status};

use crate::context::{page_size, take_page, ReadContext};
use crate::measures;

/// The longest `advanced_within` / `reached_within` accepted (as `Velocity`'s window).
const MAX_WITHIN_DAYS: i64 = crate::velocity::MAX_WINDOW_DAYS;

/// A `leads` row as the API's `Lead` (`GetLead` answers the same).
pub(crate) fn lead_to_proto(r: &LeadRow) -> pb::Lead {
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
        contact_erased_at: r.contact_erased_at.map(time_to_proto),
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
            account_id: r.account_id.clone(),
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
        account: r.account_key.clone(),
        contact_role: ContactRole::parse(&r.contact_role).map_or(0, ContactRole::number),
        primary_contact: r.primary_contact,
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

/// The request's filters, every bad field a violation in `v`.
fn filter(v: &mut Violations, r: &pb::ListLeadsRequest) -> LeadFilter {
    let mut stages = Vec::new();
    for (i, s) in r.stages.iter().enumerate() {
        match Stage::from_number(*s) {
            Some(st) => stages.push(st.as_str().to_string()),
            None => v.add(format!("stages[{i}]"), format!("unknown stage {s}")),
        }
    }
    let segment = match pb::Segment::try_from(r.segment) {
        Ok(pb::Segment::Unspecified) => "",
        Ok(pb::Segment::Ka) => "KA",
        Ok(pb::Segment::Smb) => "SMB",
        Err(_) => {
            v.add("segment", "unknown segment");
            ""
        }
    };
    let reached = measures::main_line(v, "reached", r.reached);
    if !r.signed_currency.is_empty()
        && !leadledger_domain::validate::is_currency(&r.signed_currency)
    {
        v.add(
            "signed_currency",
            "must be an ISO 4217 code such as CNY, USD or EUR",
        );
    }
    let entered = match r.entered {
        0 => None,
        n => Stage::from_number(n).or_else(|| {
            v.add("entered", format!("unknown stage {n}"));
            None
        }),
    };
    let advanced_within = measures::duration(
        v,
        "advanced_within",
        r.advanced_within.as_ref(),
        MAX_WITHIN_DAYS,
    );
    if advanced_within.is_some() && entered.is_none_or(|s| s.rank().is_none_or(|k| k >= 5)) {
        v.add(
            "advanced_within",
            "needs `entered`, a main-line stage before signed",
        );
    }
    let reached_within = measures::duration(
        v,
        "reached_within",
        r.reached_within.as_ref(),
        MAX_WITHIN_DAYS,
    );
    if reached_within.is_some() && reached.is_none() {
        v.add("reached_within", "needs `reached`");
    }
    let (captured_from, captured_to) = measures::range(
        v,
        ("captured_from", "captured_to"),
        r.captured_from.as_ref(),
        r.captured_to.as_ref(),
    );
    let exited = r.exited.as_ref().map(|x| exit_filter(v, x));
    LeadFilter {
        stages,
        channel: r.channel.clone(),
        campaign: r.campaign.clone(),
        region: r.region.clone(),
        industry: r.industry.clone(),
        segment: segment.to_string(),
        owner_rep_id: r.owner_rep_id.clone(),
        captured_from,
        captured_to,
        reached_rank: reached.and_then(Stage::rank).map(i16::from),
        signed_currency: r.signed_currency.clone(),
        owner_team: r.owner_team.clone(),
        entered,
        advanced_within,
        reached_within,
        exited,
    }
}

/// `exited`, each bad field a violation of `exited.<field>`.
fn exit_filter(v: &mut Violations, x: &pb::ExitFilter) -> ExitFilter {
    let kind = match x.kind {
        0 => None,
        n => match Stage::from_number(n).filter(|s| s.is_exit()) {
            Some(s) => Some(s),
            None => {
                v.add("exited.kind", format!("{n} is no exit stage"));
                None
            }
        },
    };
    let reached = measures::main_line(v, "exited.reached", x.reached);
    let at_least = measures::main_line(v, "exited.reached_at_least", x.reached_at_least);
    let (from, to) = measures::range(
        v,
        ("exited.exited_from", "exited.exited_to"),
        x.exited_from.as_ref(),
        x.exited_to.as_ref(),
    );
    ExitFilter {
        kind,
        code: x.code.clone(),
        from,
        to,
        rep_id: x.rep_id.clone(),
        team: x.team.clone(),
        reached,
        reached_rank_at_least: at_least.and_then(Stage::rank).map(i32::from),
    }
}

/// One `ListLeads` call.
pub async fn serve(
    ctx: &ReadContext,
    request: Request<pb::ListLeadsRequest>,
) -> Result<Response<pb::ListLeadsResponse>, Status> {
    let r = request.get_ref();
    let (tenant, (filter, cut, page_size, cursor)) =
        measures::admit(ctx, &request, &r.tenant_id, &r.consistency_token, || {
            let page_size = page_size(r.page_size)?;
            let mut v = Violations::default();
            let filter = filter(&mut v, r);
            let cut = measures::cut(&mut v, r.as_of.as_ref(), r.known_at.as_ref());
            if !v.is_empty() {
                return Err(ApiError::invalid(v));
            }
            Ok((filter, cut, page_size, decode_cursor(&r.page_token)?))
        })
        .await?;
    let pool = &ctx.store().pool;
    let (c, limit) = (cursor.as_ref(), page_size + 1);
    let rows = if cut.is_live() {
        leads::list_leads(pool, &tenant, &filter, c, limit).await
    } else {
        let d = ctx.policies();
        leadledger_store::cut::list_leads(pool, &tenant, &filter, c, limit, &cut, d).await
    }
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
