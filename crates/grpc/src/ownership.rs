//! `OwnershipService`: claim and assign as intents decided in log order.
//!
//! Two reps claiming one lead through two processes must not both win, and a replay must
//! decide the same. So a command does not change anything itself: it appends an
//! `OwnershipRequested` intent (key = lead id, so all of a lead's intents share a partition),
//! the projector decides it against everything before it in that partition
//! (`leadledger_domain::ownership::decide`), and the call waits — within its deadline, via
//! the process's checkpoint watcher — until the projection has applied the intent's offset,
//! then answers with the stored decision. With account rules, an account step comes first
//! ([`account`]).

mod account;

use std::collections::HashMap;

use leadledger_api::convert::time_to_proto;
use leadledger_api::pb::{self, ownership_service_server::OwnershipService};
use leadledger_api::ApiError;
use leadledger_domain::account::ownership::Rules;
use leadledger_domain::event::{OwnershipMode, OwnershipRequest};
use leadledger_domain::{validate, Payload, Violations};
use leadledger_log::{EventProducer, Position};
use leadledger_store::ownership::{self as decisions, DecisionRow};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::context::{page_size, take_page, ReadContext};
use crate::{command, tenant, token::Token};

/// The source system of ownership intents; with the request id it makes the intent's id.
pub const SOURCE_SYSTEM: &str = "leadledger.ownership";

/// The `google.rpc.ErrorInfo` reason of a refused claim or assignment.
pub const REFUSED: &str = "OWNERSHIP_REFUSED";

/// The ownership gRPC service: needs the log (to append intents) and the read models (to
/// wait for and read decisions).
#[derive(Clone)]
pub struct OwnershipSvc {
    producer: EventProducer,
    query: ReadContext,
    /// Room in the log's queue, shared with ingest (`limits.log_queue`).
    budget: crate::shed::LogBudget,
    /// The account rules per tier (`ownership.account_rules`); none by default here.
    rules: Rules,
}

/// A command, validated.
struct Command {
    tenant: String,
    lead_id: String,
    request_id: String,
    /// Waited for before the lead's account is read.
    consistency_token: String,
    req: OwnershipRequest,
}

impl OwnershipSvc {
    pub fn new(producer: EventProducer, query: ReadContext) -> Self {
        Self {
            producer,
            query,
            budget: crate::shed::LogBudget::default(),
            rules: Rules::default(),
        }
    }

    /// Rules claims and assignments of an account's leads by `rules` first.
    pub fn with_account_rules(mut self, rules: Rules) -> Self {
        self.rules = rules;
        self
    }

    /// Takes room for its intents in `budget` (the one ingest uses).
    pub fn with_log_budget(mut self, budget: crate::shed::LogBudget) -> Self {
        self.budget = budget;
        self
    }

    /// Appends the intent (unless this request id was decided already), waits for its
    /// decision and maps it to the answer.
    async fn execute<T>(
        &self,
        request: &Request<T>,
        mut cmd: Command,
    ) -> Result<(pb::OwnershipDecision, String), ApiError> {
        let intent_id = command::fact_id(&cmd.tenant, SOURCE_SYSTEM, &cmd.request_id);
        if !cmd.consistency_token.is_empty() {
            self.query
                .wait_for(request, &cmd.tenant, &cmd.consistency_token)
                .await?;
        }
        // A retry of a decided request answers from the stored decision (and ruling): no
        // second record.
        let pool = &self.query.store().pool;
        let decided = decisions::decision(pool, &cmd.tenant, intent_id)
            .await
            .map_err(ApiError::from)?;
        if let Some(d) = &decided {
            same_request(&cmd, &d.lead, &d.rep_id, d.mode)?;
        }
        let account = self.account_of(&cmd).await?;
        let ruling = match (&decided, &account) {
            (Some(_), Some(a)) => self.stored_ruling(&cmd, a).await?,
            (None, Some(a)) => Some(self.rule_on_account(request, &cmd, a).await?),
            (_, None) => None,
        };
        let decision = match decided {
            Some(d) => d,
            None => {
                if let Some(r) = &ruling {
                    if !r.allowed {
                        return Err(account::refusal(r));
                    }
                    cmd.req.account_ruling = r.intent_id.to_string();
                }
                let position = self.append(request, &cmd, intent_id).await?;
                self.wait_decided(request, &cmd, intent_id, &position)
                    .await?
            }
        };
        let token = Token::new(
            &cmd.tenant,
            self.query.topic(),
            &[Position {
                partition: decision.partition,
                offset: decision.offset,
            }],
        )
        .encode();
        if !decision.granted {
            return Err(refusal(&decision));
        }
        let mut answer = decision_to_proto(&decision);
        answer.account_ruling = ruling.as_ref().map(account::ruling_to_proto);
        Ok((answer, token))
    }

    async fn append<T>(
        &self,
        request: &Request<T>,
        cmd: &Command,
        intent_id: Uuid,
    ) -> Result<Position, ApiError> {
        let fact = command::fact(
            intent_id,
            &cmd.tenant,
            &cmd.lead_id,
            SOURCE_SYSTEM,
            &cmd.request_id,
            Payload::OwnershipRequested(cmd.req.clone()),
        );
        command::append(
            &self.budget,
            &self.producer,
            request.metadata(),
            &fact,
            "the log did not acknowledge the request",
        )
        .await
    }

    async fn wait_decided<T>(
        &self,
        request: &Request<T>,
        cmd: &Command,
        intent_id: Uuid,
        position: &Position,
    ) -> Result<DecisionRow, ApiError> {
        let token = Token::new(&cmd.tenant, self.query.topic(), [position]).encode();
        self.query
            .wait_for(request, &cmd.tenant, &token)
            .await
            .map_err(|e| match e {
                ApiError::NotYetConsistent(_) => ApiError::NotYetConsistent(format!(
                    "the request for lead {} is in the log (intent {intent_id}, partition {} \
                     offset {}) but was not decided before the deadline; {}",
                    cmd.lead_id,
                    position.partition,
                    position.offset,
                    if cmd.request_id.is_empty() {
                        "send a request_id to make retries return this decision"
                    } else {
                        "retry with the same request_id to get its decision"
                    }
                )),
                other => other,
            })?;
        decisions::decision(&self.query.store().pool, &cmd.tenant, intent_id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| {
                tracing::error!(%intent_id, "intent applied but no decision stored");
                ApiError::Internal("the request was applied but has no decision".into())
            })
    }
}

/// A stored decision or ruling found by the request id is this request's: the same lead,
/// rep and mode; else the request id was used for another request, and nothing is appended.
fn same_request(cmd: &Command, lead: &str, rep: &str, mode: &str) -> Result<(), ApiError> {
    if lead == cmd.lead_id && rep == cmd.req.rep_id && mode == cmd.req.mode.as_str() {
        return Ok(());
    }
    Err(ApiError::invalid_field(
        "request_id",
        format!(
            "already used for a {mode} of lead {lead} for rep `{rep}`: a retry must repeat its \
             request, another request needs another id"
        ),
    ))
}

/// "claim of lead L for rep `R` refused: why" (an assignment's likewise).
fn refused(mode: &str, lead: &str, rep: &str, why: &str) -> String {
    let verb = if mode == "assign" {
        "assignment"
    } else {
        "claim"
    };
    format!("{verb} of lead {lead} for rep `{rep}` refused: {why}")
}

/// FAILED_PRECONDITION naming the lead and its owner, with the owner in `ErrorInfo`.
fn refusal(d: &DecisionRow) -> ApiError {
    ApiError::Refused {
        message: refused(d.mode, &d.lead, &d.rep_id, &d.reason),
        reason: REFUSED.into(),
        metadata: HashMap::from([
            ("lead_id".to_string(), d.lead.clone()),
            ("owner_rep_id".to_string(), d.owner_before.clone()),
            ("intent_id".to_string(), d.intent_id.to_string()),
            ("reason".to_string(), d.reason.clone()),
        ]),
    }
}

fn decision_to_proto(d: &DecisionRow) -> pb::OwnershipDecision {
    pb::OwnershipDecision {
        intent_id: d.intent_id.to_string(),
        lead_id: d.lead.clone(),
        rep_id: d.rep_id.clone(),
        team: d.team.clone(),
        owner_before: d.owner_before.clone(),
        reason: d.reason.clone(),
        position: Some(pb::LogPosition {
            partition: d.partition,
            offset: d.offset,
        }),
        requested_at: Some(time_to_proto(d.requested_at)),
        account_ruling: None,
    }
}

/// Validates the fields both commands share; the tenant error (if any) comes first.
#[allow(clippy::too_many_arguments)]
fn command(
    tenant: Result<String, ApiError>,
    mode: OwnershipMode,
    lead_id: &str,
    rep_id: &str,
    team: &str,
    requested_by: &str,
    expected_rep_id: &str,
    request_id: &str,
) -> Result<Command, ApiError> {
    let tenant = tenant?;
    let mut v = Violations::default();
    // Spend, identity intents and anonymous visitors have no lead to own.
    validate::lead_ref(&mut v, "lead_id", lead_id);
    validate::lead_id(&mut v, "rep_id", rep_id);
    command::optional_id(&mut v, "team", team);
    match mode {
        OwnershipMode::Assign => validate::lead_id(&mut v, "requested_by", requested_by),
        OwnershipMode::Claim => command::optional_id(&mut v, "requested_by", requested_by),
    }
    command::optional_id(&mut v, "expected_rep_id", expected_rep_id);
    command::optional_id(&mut v, "request_id", request_id);
    if !v.is_empty() {
        return Err(ApiError::invalid(v));
    }
    Ok(Command {
        tenant,
        lead_id: lead_id.to_string(),
        request_id: request_id.to_string(),
        consistency_token: String::new(),
        req: OwnershipRequest {
            mode,
            rep_id: rep_id.to_string(),
            team: team.to_string(),
            requested_by: if requested_by.is_empty() {
                rep_id.to_string()
            } else {
                requested_by.to_string()
            },
            expected_rep_id: expected_rep_id.to_string(),
            account_ruling: String::new(),
        },
    })
}

#[tonic::async_trait]
impl OwnershipService for OwnershipSvc {
    async fn claim_lead(
        &self,
        request: Request<pb::ClaimLeadRequest>,
    ) -> Result<Response<pb::ClaimLeadResponse>, Status> {
        let r = request.get_ref();
        let mut cmd = command(
            tenant::resolve(&request, &r.tenant_id),
            OwnershipMode::Claim,
            &r.lead_id,
            &r.rep_id,
            &r.team,
            &r.requested_by,
            "",
            &r.request_id,
        )?;
        cmd.consistency_token.clone_from(&r.consistency_token);
        let (decision, consistency_token) = self.execute(&request, cmd).await?;
        Ok(Response::new(pb::ClaimLeadResponse {
            decision: Some(decision),
            consistency_token,
        }))
    }

    async fn assign_lead(
        &self,
        request: Request<pb::AssignLeadRequest>,
    ) -> Result<Response<pb::AssignLeadResponse>, Status> {
        let r = request.get_ref();
        let mut cmd = command(
            tenant::resolve(&request, &r.tenant_id),
            OwnershipMode::Assign,
            &r.lead_id,
            &r.rep_id,
            &r.team,
            &r.requested_by,
            &r.expected_rep_id,
            &r.request_id,
        )?;
        cmd.consistency_token.clone_from(&r.consistency_token);
        let (decision, consistency_token) = self.execute(&request, cmd).await?;
        Ok(Response::new(pb::AssignLeadResponse {
            decision: Some(decision),
            consistency_token,
        }))
    }

    async fn list_ownership_conflicts(
        &self,
        request: Request<pb::ListOwnershipConflictsRequest>,
    ) -> Result<Response<pb::ListOwnershipConflictsResponse>, Status> {
        let r = request.get_ref();
        let tenant = self
            .query
            .admit(&request, &r.tenant_id, &r.consistency_token)
            .await?;
        let page_size = page_size(r.page_size)?;
        // Pages go by account key; a token of an older version (a company domain) is no key.
        if !r.page_token.is_empty()
            && leadledger_domain::account::AccountKey::parse(&r.page_token).is_none()
        {
            return Err(ApiError::invalid_field(
                "page_token",
                "not a page token issued by this service (pages now go by account: start again \
                 without one)",
            )
            .into());
        }
        let rows = decisions::conflicts(
            &self.query.store().pool,
            &tenant,
            &r.page_token,
            page_size + 1,
        )
        .await
        .map_err(ApiError::from)?;
        let (rows, more) = take_page(rows, page_size);
        let next_page_token = match rows.last() {
            Some(last) if more => last.account_key.clone(),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListOwnershipConflictsResponse {
            conflicts: rows
                .into_iter()
                .map(|c| account::conflict_to_proto(c, &self.rules))
                .collect(),
            next_page_token,
        }))
    }
}
