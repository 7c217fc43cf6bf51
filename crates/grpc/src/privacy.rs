//! `PrivacyService`: erasing a person without breaking the log (docs/PRIVACY.md).
//!
//! `EraseContact` destroys the lead's data keys first — from that moment every sealed copy of
//! the contact, in the topic and in `lead_events`, is unreadable — and then appends a
//! `ContactErased` fact, which the projector applies like any other: the lead's personal
//! columns go, clear copies from before sealing are taken out of its timeline rows, and a
//! replay from offset 0 gives the same rows. A retry with the same request id destroys
//! nothing more and appends the same fact (one id), which the projector applies once.

use leadledger_api::pb::{self, privacy_service_server::PrivacyService};
use leadledger_api::ApiError;
use leadledger_domain::privacy::Erasure;
use leadledger_domain::{validate, Payload, Violations};
use leadledger_log::EventProducer;
use leadledger_store::{contact_keys, identity};
use tonic::{Request, Response, Status};

use crate::context::ReadContext;
use crate::shed::LogBudget;
use crate::{command, tenant, token::Token};

/// The source system of erasure facts; with the request id it makes the fact's id.
pub const SOURCE_SYSTEM: &str = "leadledger.privacy";

/// The privacy gRPC service: needs the log (to append the fact) and the database (the keys).
#[derive(Clone)]
pub struct PrivacySvc {
    producer: EventProducer,
    query: ReadContext,
    /// Room in the log's queue, shared with ingest (`limits.log_queue`).
    budget: LogBudget,
}

impl PrivacySvc {
    pub fn new(producer: EventProducer, query: ReadContext) -> Self {
        Self {
            producer,
            query,
            budget: LogBudget::default(),
        }
    }

    /// Takes room for its facts in `budget` (the one ingest uses).
    pub fn with_log_budget(mut self, budget: LogBudget) -> Self {
        self.budget = budget;
        self
    }
}

#[tonic::async_trait]
impl PrivacyService for PrivacySvc {
    async fn erase_contact(
        &self,
        request: Request<pb::EraseContactRequest>,
    ) -> Result<Response<pb::EraseContactResponse>, Status> {
        let tenant = tenant::resolve(&request, &request.get_ref().tenant_id)?;
        let r = request.get_ref();
        let erasure = Erasure {
            requested_by: r.requested_by.clone(),
            reason: r.reason.clone(),
        };
        let mut v = Violations::default();
        validate::lead_id(&mut v, "lead_id", &r.lead_id);
        validate::erasure(&mut v, &erasure);
        command::optional_id(&mut v, "request_id", &r.request_id);
        if !v.is_empty() {
            return Err(ApiError::invalid(v).into());
        }
        let pool = &self.query.store().pool;
        if !contact_keys::captured(pool, &tenant, &r.lead_id)
            .await
            .map_err(ApiError::from)?
        {
            return Err(ApiError::NotFound(format!(
                "lead {} has no capture in the ledger: there is no contact to erase",
                r.lead_id
            ))
            .into());
        }
        // A merged group is one contact to its readers: erasing any of its leads erases the
        // group's (every key of the survivor and of the leads merged into it), and the fact
        // goes on the survivor (docs/IDENTITY.md).
        let survivor = identity::survivor_of(pool, &tenant, &r.lead_id)
            .await
            .map_err(ApiError::from)?
            .unwrap_or_else(|| r.lead_id.clone());
        let mut group = vec![survivor.clone()];
        group.extend(
            identity::groups(pool, &[tenant.as_str()], &[survivor.as_str()])
                .await
                .map_err(ApiError::from)?
                .into_keys()
                .map(|(_, lead)| lead),
        );
        let mut destroyed = Vec::new();
        for lead in &group {
            destroyed.extend(
                contact_keys::destroy(pool, &tenant, lead)
                    .await
                    .map_err(ApiError::from)?,
            );
        }
        tracing::info!(
            lead = %r.lead_id,
            survivor = %survivor,
            keys = destroyed.len(),
            requested_by = %r.requested_by,
            "contact erased: data keys destroyed"
        );
        let event_id = command::fact_id(&tenant, SOURCE_SYSTEM, &r.request_id);
        let event = command::fact(
            event_id,
            &tenant,
            &survivor,
            SOURCE_SYSTEM,
            &r.request_id,
            Payload::ContactErased(erasure),
        );
        let position = command::append(
            &self.budget,
            &self.producer,
            request.metadata(),
            &event,
            "the contact's keys are destroyed but the log did not acknowledge the erasure fact",
        )
        .await?;
        Ok(Response::new(pb::EraseContactResponse {
            event_id: event_id.to_string(),
            keys_destroyed: u32::try_from(destroyed.len()).unwrap_or(u32::MAX),
            consistency_token: Token::new(&tenant, self.query.topic(), [&position]).encode(),
        }))
    }
}
