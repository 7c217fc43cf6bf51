//! `QueryService.Reasons`: why leads leave the main line, counted by reason code and listed
//! with why and by whom (definitions: docs/ANALYTICS.md, "Reasons").

use leadledger_analytics::reasons;
use leadledger_api::convert::{stored_stage_to_proto, time_to_proto};
use leadledger_api::pb;
use leadledger_api::ApiError;
use leadledger_domain::{Stage, Violations};
use leadledger_store::exits::{self, ExitDimension, ExitRow, ExitsQuery};
use leadledger_store::leads::Dimension;
use tonic::{Request, Response, Status};

use crate::context::ReadContext;
use crate::measures;

/// The most exits one answer lists.
pub const MAX_LIST_LIMIT: u32 = 1000;

/// The exit stages, in stage order: what a request naming none selects.
const EXITS: [Stage; 4] = [
    Stage::Rejected,
    Stage::Recycled,
    Stage::Disqualified,
    Stage::Lost,
];

fn dimension(d: i32) -> Option<ExitDimension> {
    use pb::ExitDimension as P;
    use ExitDimension::Lead;
    Some(match P::try_from(d).ok()? {
        P::Unspecified => return None,
        P::Channel => Lead(Dimension::Channel),
        P::Campaign => Lead(Dimension::Campaign),
        P::Region => Lead(Dimension::Region),
        P::Industry => Lead(Dimension::Industry),
        P::Segment => Lead(Dimension::Segment),
        P::CaptureMonth => Lead(Dimension::CaptureMonth),
        P::ExitMonth => ExitDimension::ExitMonth,
        P::ExitWeek => ExitDimension::ExitWeek,
        P::Rep => ExitDimension::Rep,
        P::Team => ExitDimension::Team,
        P::ReachedStage => ExitDimension::ReachedStage,
    })
}

/// The request as the store takes it, with every field violation at once.
pub fn parse(r: &pb::ReasonsRequest) -> Result<ExitsQuery, ApiError> {
    let mut v = Violations::default();
    let group_by = measures::dimensions(&mut v, &r.group_by, dimension);
    let (exited_from, exited_to) = measures::range(
        &mut v,
        ("exited_from", "exited_to"),
        r.exited_from.as_ref(),
        r.exited_to.as_ref(),
    );
    let mut kinds = Vec::new();
    for (i, n) in r.kinds.iter().enumerate() {
        match Stage::from_number(*n) {
            Some(s) if s.is_exit() => {
                if !kinds.contains(&s) {
                    kinds.push(s);
                }
            }
            Some(s) => v.add(
                format!("kinds[{i}]"),
                format!(
                    "{} is no exit: one of rejected, recycled, disqualified, lost",
                    s.as_str()
                ),
            ),
            None => v.add(format!("kinds[{i}]"), format!("unknown stage {n}")),
        }
    }
    if kinds.is_empty() {
        kinds = EXITS.to_vec();
    }
    let reached = measures::main_line(&mut v, "reached", r.reached);
    if r.list_limit > MAX_LIST_LIMIT {
        v.add("list_limit", format!("at most {MAX_LIST_LIMIT}"));
    }
    let cut = measures::cut(&mut v, r.as_of.as_ref(), r.known_at.as_ref());
    if !v.is_empty() {
        return Err(ApiError::invalid(v));
    }
    Ok(ExitsQuery {
        group_by,
        exited_from,
        exited_to,
        kinds,
        reached,
        list_limit: i64::from(r.list_limit),
        cut,
    })
}

/// An exit as `GetLead` and `Reasons` show it.
pub fn exit_reason(
    code: &str,
    text: &str,
    rep_id: &str,
    team: &str,
    reached: Option<&str>,
) -> pb::ExitReason {
    pb::ExitReason {
        code: code.to_string(),
        text: text.to_string(),
        rep_id: rep_id.to_string(),
        team: team.to_string(),
        reached_stage: stored_stage_to_proto(reached),
    }
}

fn lead_exit(e: ExitRow) -> pb::LeadExit {
    pb::LeadExit {
        reason: Some(exit_reason(
            &e.reason_code,
            &e.reason_text,
            &e.exit_rep,
            &e.exit_team,
            e.reached_stage.as_deref(),
        )),
        lead_id: e.lead_id,
        kind: stored_stage_to_proto(Some(&e.kind)),
        at: Some(time_to_proto(e.at)),
        from_stage: stored_stage_to_proto(e.from_stage.as_deref()),
        event_id: e.event_id.to_string(),
    }
}

/// Serves one `Reasons` call.
pub async fn serve(
    ctx: &ReadContext,
    request: Request<pb::ReasonsRequest>,
) -> Result<Response<pb::ReasonsResponse>, Status> {
    let r = request.get_ref();
    let (tenant, query) =
        measures::admit(ctx, &request, &r.tenant_id, &r.consistency_token, || {
            parse(r)
        })
        .await?;
    let (counts, listed) = exits::counts_and_list(&ctx.store().pool, &tenant, &query)
        .await
        .map_err(ApiError::from)?;
    let groups = reasons::groups(counts);
    let total_exits = groups.iter().map(|g| g.exits).sum();
    Ok(Response::new(pb::ReasonsResponse {
        group_by: r.group_by.clone(),
        groups: groups
            .into_iter()
            .map(|g| pb::ReasonGroup {
                key: g.key,
                kind: g.kind.number(),
                exits: g.exits,
                reasons: g
                    .reasons
                    .into_iter()
                    .map(|x| pb::ReasonCount {
                        code: x.code,
                        exits: x.exits,
                        share: x.share,
                        leads: x.leads,
                    })
                    .collect(),
            })
            .collect(),
        total_exits,
        exits: listed.into_iter().map(lead_exit).collect(),
    }))
}
