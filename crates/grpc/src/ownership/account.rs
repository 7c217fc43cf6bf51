//! The account step of a claim or assignment (docs/IDENTITY.md, "Account ownership").
//!
//! With account rules configured, a request for a lead that belongs to an account (an
//! explicit id or its employer's domain) is first appended as an
//! `AccountOwnershipRequested` intent under the account's key; the projector rules on it in
//! that key's log order against the account's holding, and the call waits for the ruling.
//! Refused: the caller hears who owns the account, since when, and the rule. Allowed: the
//! lead's own intent follows, naming the ruling. The ruling's id comes from the request id
//! and the account (a system of its own), so a retry finds it and never rules twice.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use leadledger_api::convert::time_to_proto;
use leadledger_api::pb;
use leadledger_api::ApiError;
use leadledger_domain::account::ownership::{self, Holder, Request as AccountRequest, Rule, Rules};
use leadledger_domain::account::AccountKey;
use leadledger_domain::Payload;
use leadledger_store::ownership::{self as decisions, ConflictRow, RulingRow};
use tonic::Request;
use uuid::Uuid;

use super::{Command, OwnershipSvc};
use crate::account::holder_to_proto;
use crate::{command, token::Token};

/// The source system of account ruling intents; with the request id it makes their id.
pub const SOURCE_SYSTEM: &str = "leadledger.account_ownership";

/// The `google.rpc.ErrorInfo` reason of a request refused by its account's rule.
pub const REFUSED: &str = "ACCOUNT_OWNERSHIP_REFUSED";

impl OwnershipSvc {
    /// The shared account the read models put `cmd`'s lead in, when account rules are
    /// configured (`None`: no rules, or no such account — a lead they do not hold is the
    /// lead step's to refuse).
    pub(super) async fn account_of(&self, cmd: &Command) -> Result<Option<AccountKey>, ApiError> {
        if !self.rules.any() {
            return Ok(None);
        }
        let pool = &self.query.store().pool;
        let key = decisions::account_of_lead(pool, &cmd.tenant, &cmd.lead_id)
            .await
            .map_err(ApiError::from)?;
        Ok(key
            .as_deref()
            .and_then(AccountKey::parse)
            .filter(AccountKey::is_shared))
    }

    /// The stored ruling on `cmd` for `account`, if any (checked to be `cmd`'s).
    pub(super) async fn stored_ruling(
        &self,
        cmd: &Command,
        account: &AccountKey,
    ) -> Result<Option<RulingRow>, ApiError> {
        let id = ruling_id(cmd, account);
        let found = decisions::ruling(&self.query.store().pool, &cmd.tenant, id)
            .await
            .map_err(ApiError::from)?;
        if let Some(r) = &found {
            super::same_request(cmd, &r.lead, &r.rep_id, r.mode)?;
        }
        Ok(found)
    }

    /// Rules on `cmd` by `account`'s rule: the stored ruling of a retry, else a new intent
    /// appended under the account's key and waited for.
    pub(super) async fn rule_on_account<T>(
        &self,
        request: &Request<T>,
        cmd: &Command,
        account: &AccountKey,
    ) -> Result<RulingRow, ApiError> {
        if let Some(r) = self.stored_ruling(cmd, account).await? {
            return Ok(r);
        }
        let pool = &self.query.store().pool;
        let ruling_id = ruling_id(cmd, account);
        let fact = command::fact(
            ruling_id,
            &cmd.tenant,
            &ownership::log_key(account),
            SOURCE_SYSTEM,
            &cmd.request_id,
            Payload::AccountOwnershipRequested(AccountRequest {
                lead: cmd.lead_id.clone(),
                mode: cmd.req.mode,
                rep_id: cmd.req.rep_id.clone(),
                team: cmd.req.team.clone(),
                requested_by: cmd.req.requested_by.clone(),
                rules: self.rules.clone(),
            }),
        );
        let position = command::append(
            &self.budget,
            &self.producer,
            request.metadata(),
            &fact,
            "the log did not acknowledge the account ruling request",
        )
        .await?;
        let token = Token::new(&cmd.tenant, self.query.topic(), [&position]).encode();
        self.query
            .wait_for(request, &cmd.tenant, &token)
            .await
            .map_err(|e| match e {
                ApiError::NotYetConsistent(_) => ApiError::NotYetConsistent(format!(
                    "the request for lead {} awaits its account's ruling (intent {ruling_id}, \
                     partition {} offset {}), not made before the deadline; retry with the \
                     same request_id to get it",
                    cmd.lead_id, position.partition, position.offset
                )),
                other => other,
            })?;
        decisions::ruling(pool, &cmd.tenant, ruling_id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| {
                tracing::error!(%ruling_id, "account intent applied but no ruling stored");
                ApiError::Internal("the account request was applied but has no ruling".into())
            })
    }
}

/// The ruling intent's id: from the request id and the account (a retry after the lead
/// changed accounts is another ruling, never one id under two keys), under a source system of
/// its own; a fresh UUIDv7 without a request id.
fn ruling_id(cmd: &Command, account: &AccountKey) -> Uuid {
    if cmd.request_id.is_empty() {
        return command::fact_id(&cmd.tenant, SOURCE_SYSTEM, "");
    }
    command::fact_id(
        &cmd.tenant,
        SOURCE_SYSTEM,
        &format!("{}\u{1f}{}", cmd.request_id, account.text()),
    )
}

/// FAILED_PRECONDITION naming the account's owner, since when, and the rule.
pub(super) fn refusal(r: &RulingRow) -> ApiError {
    let holder = r.holder.as_ref();
    ApiError::Refused {
        message: super::refused(r.mode, &r.lead, &r.rep_id, &r.reason),
        reason: REFUSED.into(),
        metadata: HashMap::from([
            ("lead_id".to_string(), r.lead.clone()),
            ("account".to_string(), r.account.clone()),
            (
                "owner_rep_id".to_string(),
                holder.map(|h| h.rep_id.clone()).unwrap_or_default(),
            ),
            (
                "owner_since".to_string(),
                holder.map(|h| h.since.to_rfc3339()).unwrap_or_default(),
            ),
            ("rule".to_string(), r.rule.as_str().to_string()),
            ("tier".to_string(), r.tier.clone()),
            ("intent_id".to_string(), r.intent_id.to_string()),
            ("reason".to_string(), r.reason.clone()),
        ]),
    }
}

pub(super) fn ruling_to_proto(r: &RulingRow) -> pb::AccountRuling {
    pb::AccountRuling {
        intent_id: r.intent_id.to_string(),
        account: r.account.clone(),
        tier: r.tier.clone(),
        rule: r.rule.number(),
        allowed: r.allowed,
        holder: r.holder.as_ref().map(holder_to_proto),
        reason: r.reason.clone(),
    }
}

/// Who `rule` gives a conflicted account's leads, and why: its holder; under
/// `first_claim` with nobody holding it, the rep who has owned one of its open leads the
/// longest (ties: the smallest rep id), as the first claim the log would have ruled on.
pub(super) fn winner(
    rule: Rule,
    holder: Option<&Holder>,
    owners: &[(String, i64, Option<DateTime<Utc>>)],
) -> (String, String) {
    match (rule, holder) {
        (Rule::None, _) => (
            String::new(),
            "no account rule for its tier: each lead is decided alone (its first claim wins)"
                .into(),
        ),
        (_, Some(h)) => (
            h.rep_id.clone(),
            format!(
                "rule {} gives its leads to rep `{}`, who owns the account since {} (by {})",
                rule.as_str(),
                h.rep_id,
                h.since.to_rfc3339(),
                h.by.as_str()
            ),
        ),
        (Rule::AccountOwner, None) => (
            String::new(),
            "rule account_owner, but nobody owns the account: list it with an owner".into(),
        ),
        (Rule::FirstClaim, None) => {
            let first = owners
                .iter()
                .filter_map(|(rep, _, since)| since.map(|s| (s, rep)))
                .min();
            match first {
                Some((since, rep)) => (
                    rep.clone(),
                    format!(
                        "rule first_claim: rep `{rep}` has owned one of its leads longest \
                         (since {}); the next claim ruled on makes its rep the account's owner",
                        since.to_rfc3339()
                    ),
                ),
                None => (
                    String::new(),
                    "rule first_claim: nobody holds it yet".into(),
                ),
            }
        }
    }
}

/// One conflict as the API shows it, with the rule `rules` give its tier.
pub(super) fn conflict_to_proto(c: ConflictRow, rules: &Rules) -> pb::OwnershipConflict {
    let holder = c.holder();
    let owners: Vec<(String, i64, Option<DateTime<Utc>>)> = c
        .reps
        .iter()
        .enumerate()
        .map(|(i, rep)| {
            (
                rep.clone(),
                c.rep_open_leads.get(i).copied().unwrap_or_default(),
                c.rep_since.get(i).copied().flatten(),
            )
        })
        .collect();
    let rule = rules.of(&c.tier);
    let (winner_rep_id, explanation) =
        winner(rule, ownership::owner_under(rule, holder.as_ref()), &owners);
    pb::OwnershipConflict {
        company_domain: c.company_domain,
        rep_ids: c.reps,
        open_leads: c.open_leads,
        account: c.account_key,
        owners: owners
            .into_iter()
            .map(|(rep_id, open_leads, since)| pb::ConflictOwner {
                rep_id,
                open_leads,
                since: since.map(time_to_proto),
            })
            .collect(),
        holder: holder.as_ref().map(holder_to_proto),
        tier: c.tier,
        rule: rule.number(),
        winner_rep_id,
        explanation,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use leadledger_domain::account::ownership::HeldBy;

    use super::*;

    fn at(min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 4, 9, min, 0).unwrap()
    }

    #[test]
    fn the_winner_follows_the_rule() {
        let owners = vec![
            ("bob".to_string(), 2, Some(at(5))),
            ("cat".to_string(), 1, Some(at(3))),
        ];
        let ann = Holder {
            rep_id: "ann".into(),
            team: String::new(),
            since: at(1),
            by: HeldBy::Listing,
        };
        assert_eq!(winner(Rule::None, Some(&ann), &owners).0, "");
        assert_eq!(winner(Rule::AccountOwner, Some(&ann), &owners).0, "ann");
        assert_eq!(winner(Rule::AccountOwner, None, &owners).0, "");
        assert_eq!(winner(Rule::FirstClaim, Some(&ann), &owners).0, "ann");
        let (w, why) = winner(Rule::FirstClaim, None, &owners);
        assert_eq!(w, "cat", "{why}");
        assert!(why.contains("09:03"), "{why}");
    }
}
