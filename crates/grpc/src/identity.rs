//! `IdentityService`: leads merged into a survivor and split off again (docs/IDENTITY.md);
//! its duplicate candidates are `duplicates`'.
//!
//! Like the ownership commands, a request changes nothing itself: it appends an intent under
//! the tenant's identity key (`~identity`, so all of a tenant's merges share a partition),
//! the projector decides it against the merges before it in that partition
//! (`leadledger_domain::identity::Merges`) and regroups the leads' rows, and the call waits —
//! within its deadline, via the process's checkpoint watcher — for the stored decision.

use std::collections::HashMap;

use leadledger_api::convert::time_to_proto;
use leadledger_api::pb::{self, identity_service_server::IdentityService};
use leadledger_api::ApiError;
use leadledger_domain::identity::{self, MergeRequest, UnmergeRequest};
use leadledger_domain::{validate, Payload, Violations};
use leadledger_log::Position;
use leadledger_store::identity::{self as stored, DecisionRow};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::context::ReadContext;
use crate::shed::LogBudget;
use crate::{command, tenant, token::Token};

/// The source system of identity intents; with the request id it makes the intent's id.
pub use leadledger_domain::identity::SOURCE_SYSTEM;

/// The `google.rpc.ErrorInfo` reason of a refused merge or unmerge.
pub const REFUSED: &str = "MERGE_REFUSED";

/// The identity gRPC service: needs the log (to append intents) and the read models (to
/// wait for and read decisions).
#[derive(Clone)]
pub struct IdentitySvc {
    producer: leadledger_log::EventProducer,
    query: ReadContext,
    /// Room in the log's queue, shared with ingest (`limits.log_queue`).
    budget: LogBudget,
}

impl IdentitySvc {
    pub fn new(producer: leadledger_log::EventProducer, query: ReadContext) -> Self {
        Self {
            producer,
            query,
            budget: LogBudget::default(),
        }
    }

    /// Takes room for its intents in `budget` (the one ingest uses).
    pub fn with_log_budget(mut self, budget: LogBudget) -> Self {
        self.budget = budget;
        self
    }

    /// Appends the intent (unless this request id was decided already), waits for its
    /// decision and maps it to the answer.
    async fn execute<T>(
        &self,
        request: &Request<T>,
        tenant: &str,
        request_id: &str,
        leads: &[&str],
        payload: Payload,
    ) -> Result<pb::IdentityDecision, ApiError> {
        let intent_id = command::fact_id(tenant, SOURCE_SYSTEM, request_id);
        let pool = &self.query.store().pool;
        let decision = match stored::decision(pool, tenant, intent_id).await? {
            Some(d) => d,
            None => {
                let known = stored::known(pool, tenant, leads).await?;
                if let Some(missing) = leads.iter().find(|l| !known.iter().any(|k| k == *l)) {
                    return Err(ApiError::NotFound(format!(
                        "the ledger has no fact of lead {missing} (tenant {tenant})"
                    )));
                }
                let fact = command::fact(
                    intent_id,
                    tenant,
                    identity::KEY,
                    SOURCE_SYSTEM,
                    request_id,
                    payload,
                );
                let position = command::append(
                    &self.budget,
                    &self.producer,
                    request.metadata(),
                    &fact,
                    "the log did not acknowledge the request",
                )
                .await?;
                self.wait_decided(request, tenant, request_id, intent_id, &position)
                    .await?
            }
        };
        if !decision.granted {
            return Err(refusal(&decision));
        }
        let token = Token::new(
            tenant,
            self.query.topic(),
            &[Position {
                partition: decision.log_partition,
                offset: decision.log_offset,
            }],
        )
        .encode();
        Ok(pb::IdentityDecision {
            intent_id: decision.intent_id.to_string(),
            kind: decision.kind,
            survivor_id: decision.survivor_id,
            lead_ids: decision.lead_ids,
            requested_at: Some(time_to_proto(decision.requested_at)),
            consistency_token: token,
        })
    }

    async fn wait_decided<T>(
        &self,
        request: &Request<T>,
        tenant: &str,
        request_id: &str,
        intent_id: Uuid,
        position: &Position,
    ) -> Result<DecisionRow, ApiError> {
        let token = Token::new(tenant, self.query.topic(), [position]).encode();
        self.query
            .wait_for(request, tenant, &token)
            .await
            .map_err(|e| match e {
                ApiError::NotYetConsistent(_) => ApiError::NotYetConsistent(format!(
                    "the request is in the log (intent {intent_id}, partition {} offset {}) \
                     but was not decided before the deadline; {}",
                    position.partition,
                    position.offset,
                    if request_id.is_empty() {
                        "send a request_id to make retries return this decision"
                    } else {
                        "retry with the same request_id to get its decision"
                    }
                )),
                other => other,
            })?;
        stored::decision(&self.query.store().pool, tenant, intent_id)
            .await?
            .ok_or_else(|| {
                tracing::error!(%intent_id, "identity intent applied but no decision stored");
                ApiError::Internal("the request was applied but has no decision".into())
            })
    }
}

/// FAILED_PRECONDITION with the projector's reason.
fn refusal(d: &DecisionRow) -> ApiError {
    ApiError::Refused {
        message: format!("{} refused: {}", d.kind, d.refusal),
        reason: REFUSED.into(),
        metadata: HashMap::from([
            ("intent_id".to_string(), d.intent_id.to_string()),
            ("reason".to_string(), d.refusal.clone()),
        ]),
    }
}

#[tonic::async_trait]
impl IdentityService for IdentitySvc {
    async fn merge_leads(
        &self,
        request: Request<pb::MergeLeadsRequest>,
    ) -> Result<Response<pb::MergeLeadsResponse>, Status> {
        let tenant = tenant::resolve(&request, &request.get_ref().tenant_id)?;
        let r = request.get_ref();
        let req = MergeRequest {
            survivor: r.survivor_id.clone(),
            merged: r.merged_ids.clone(),
            reason: r.reason.clone(),
            requested_by: r.requested_by.clone(),
        };
        let mut v = Violations::default();
        validate::merge(&mut v, &req);
        command::optional_id(&mut v, "request_id", &r.request_id);
        if !v.is_empty() {
            return Err(ApiError::invalid(v).into());
        }
        let leads: Vec<&str> = std::iter::once(req.survivor.as_str())
            .chain(req.merged.iter().map(String::as_str))
            .collect();
        let d = self
            .execute(
                &request,
                &tenant,
                &r.request_id,
                &leads,
                Payload::MergeRequested(req.clone()),
            )
            .await?;
        Ok(Response::new(pb::MergeLeadsResponse { decision: Some(d) }))
    }

    async fn unmerge_lead(
        &self,
        request: Request<pb::UnmergeLeadRequest>,
    ) -> Result<Response<pb::UnmergeLeadResponse>, Status> {
        let tenant = tenant::resolve(&request, &request.get_ref().tenant_id)?;
        let r = request.get_ref();
        let req = UnmergeRequest {
            lead: r.lead_id.clone(),
            reason: r.reason.clone(),
            requested_by: r.requested_by.clone(),
        };
        let mut v = Violations::default();
        validate::unmerge(&mut v, &req);
        command::optional_id(&mut v, "request_id", &r.request_id);
        if !v.is_empty() {
            return Err(ApiError::invalid(v).into());
        }
        let d = self
            .execute(
                &request,
                &tenant,
                &r.request_id,
                &[req.lead.as_str()],
                Payload::UnmergeRequested(req.clone()),
            )
            .await?;
        Ok(Response::new(pb::UnmergeLeadResponse { decision: Some(d) }))
    }

    async fn list_duplicate_candidates(
        &self,
        request: Request<pb::ListDuplicateCandidatesRequest>,
    ) -> Result<Response<pb::ListDuplicateCandidatesResponse>, Status> {
        Ok(Response::new(
            crate::duplicates::list(&self.query, &request).await?,
        ))
    }
}
