//! Ownership requests (`ClaimLead`, `AssignLead`) decided deterministically in log order.
//!
//! Two reps may claim the same lead at the same moment through two ingest processes. Both
//! requests are appended to the lead's partition; the projector decides each one, in offset
//! order, against the lead's state folded from everything before it in the log (and the
//! earlier decisions). So the first claim in the log wins, the second is refused naming the
//! owner, and a replay of the log decides exactly the same.
//!
//! # Rules
//! - **Claim**: granted when no rep owns the lead, or when the claimant already does (a
//!   retried claim is not a conflict); refused naming the owner otherwise.
//! - **Assign**: granted unless `expected_rep_id` is set and is not the current rep (an
//!   optimistic check, so two managers do not overwrite each other unknowingly).
//! - Both are refused on a lead the log has never seen, and on a closed lead (signed, lost,
//!   disqualified).

use serde::{Deserialize, Serialize};

use crate::event::{OwnershipMode, OwnershipRequest};
use crate::fold::LeadState;
use crate::stage::Stage;

/// The outcome of one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub granted: bool,
    /// The rep who owned the lead just before the request ("" for nobody).
    pub owner_before: String,
    /// Why, in words a rep can act on.
    pub reason: String,
}

/// Decides `req` against the lead's state just before it in the log.
pub fn decide(before: &LeadState, req: &OwnershipRequest) -> Decision {
    let owner = before.owner.rep_id.clone();
    let refuse = |reason: String| Decision {
        granted: false,
        owner_before: owner.clone(),
        reason,
    };
    if before.event_count == 0 {
        return refuse("no such lead: nothing about it is in the log yet".into());
    }
    if let Some(s @ (Stage::Signed | Stage::Lost | Stage::Disqualified)) = before.stage {
        return refuse(format!("the lead is closed ({})", s.as_str()));
    }
    match req.mode {
        OwnershipMode::Claim if !owner.is_empty() && owner != req.rep_id => {
            refuse(format!("already owned by rep `{owner}`"))
        }
        OwnershipMode::Assign
            if !req.expected_rep_id.is_empty() && owner != req.expected_rep_id =>
        {
            refuse(if owner.is_empty() {
                format!(
                    "expected rep `{}` to own it, but nobody does",
                    req.expected_rep_id
                )
            } else {
                format!(
                    "expected rep `{}` to own it, but rep `{owner}` does",
                    req.expected_rep_id
                )
            })
        }
        _ => Decision {
            granted: true,
            owner_before: owner.clone(),
            reason: if owner == req.rep_id {
                format!("rep `{owner}` already owned it")
            } else if owner.is_empty() {
                format!("granted to rep `{}`", req.rep_id)
            } else {
                format!("reassigned from rep `{owner}` to rep `{}`", req.rep_id)
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use uuid::Uuid;

    use super::*;
    use crate::event::{Event, Payload, SourceRef};
    use crate::fold::fold_with;

    fn ev(n: u32, payload: Payload) -> Event {
        let at = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, n).unwrap();
        Event {
            event_id: Uuid::from_u128(u128::from(n) + 1),
            tenant_id: "t".into(),
            lead_id: "l".into(),
            occurred_at: at,
            recorded_at: at,
            source: SourceRef::default(),
            schema_version: 1,
            payload,
        }
    }

    fn claim(rep: &str) -> OwnershipRequest {
        OwnershipRequest {
            mode: OwnershipMode::Claim,
            rep_id: rep.into(),
            team: "east".into(),
            requested_by: rep.into(),
            expected_rep_id: String::new(),
            account_ruling: String::new(),
        }
    }

    fn captured() -> Event {
        ev(0, Payload::LeadCaptured(Default::default()))
    }

    #[test]
    fn given_two_claims_when_decided_in_log_order_then_the_first_wins() {
        let mut log = vec![captured()];
        let mut granted = std::collections::HashSet::new();
        let mut decisions = Vec::new();
        for (n, rep) in [(1, "ann"), (2, "bob")] {
            let intent = ev(n, Payload::OwnershipRequested(claim(rep)));
            let d = decide(&fold_with(&log, &granted), &claim(rep));
            if d.granted {
                granted.insert(intent.event_id);
            }
            decisions.push(d);
            log.push(intent);
        }
        assert!(decisions[0].granted);
        assert!(!decisions[1].granted);
        assert_eq!(decisions[1].owner_before, "ann");
        assert!(
            decisions[1].reason.contains("`ann`"),
            "{}",
            decisions[1].reason
        );
        let st = fold_with(&log, &granted);
        assert_eq!(st.owner.rep_id, "ann");
        assert_eq!(st.owner.team, "east");
        assert_eq!(st.owner_since, Some(log[1].occurred_at));
        // Without the decisions, nothing is granted.
        assert_eq!(crate::fold(&log).owner.rep_id, "");
    }

    #[test]
    fn a_retried_claim_by_the_owner_is_granted() {
        let mut st = fold_with(&[captured()], &Default::default());
        st.owner.rep_id = "ann".into();
        assert!(decide(&st, &claim("ann")).granted);
    }

    #[test]
    fn assign_checks_the_expected_owner() {
        let mut st = fold_with(&[captured()], &Default::default());
        st.owner.rep_id = "ann".into();
        let mut req = claim("cat");
        req.mode = OwnershipMode::Assign;
        assert!(
            decide(&st, &req).granted,
            "no expectation: a manager overrides"
        );
        req.expected_rep_id = "bob".into();
        let d = decide(&st, &req);
        assert!(!d.granted);
        assert!(
            d.reason.contains("`bob`") && d.reason.contains("`ann`"),
            "{}",
            d.reason
        );
        req.expected_rep_id = "ann".into();
        assert!(decide(&st, &req).granted);
    }

    #[test]
    fn unknown_and_closed_leads_are_refused() {
        let d = decide(&LeadState::default(), &claim("ann"));
        assert!(!d.granted && d.reason.contains("no such lead"));
        let signed = ev(
            1,
            Payload::Signed {
                amount_minor: 1,
                currency: "CNY".into(),
                contract_id: String::new(),
            },
        );
        let st = fold_with(&[captured(), signed], &Default::default());
        let d = decide(&st, &claim("ann"));
        assert!(!d.granted && d.reason.contains("closed"), "{}", d.reason);
    }
}
