//! Free-text pools: the reasons, notes and stage feedback reps and marketers actually write,
//! so the reason analyses in the reports (invalid leads, rejections, losses, recycles) have
//! realistic categories to group by.

use leadledger_api::pb::{DisqualifyReason, LossReason, RecycleReason, RejectReason};

/// Why marketing qualified a lead.
pub(crate) const MQL_REASONS: &[&str] = &[
    "score over threshold: pricing page visits + demo request",
    "attended webinar and asked for a trial",
    "downloaded two whitepapers, ICP industry",
    "requested a quote",
    "repeated visits from a target account",
    "referred by an existing customer",
];

/// Why a lead was marked invalid: the code and the words (picked uniformly, so a code's
/// share is its number of lines).
pub(crate) const INVALID_REASONS: &[(DisqualifyReason, &str)] = &[
    (DisqualifyReason::InvalidContact, "invalid phone number"),
    (DisqualifyReason::InvalidContact, "fake or bounced e-mail"),
    (DisqualifyReason::NotABuyer, "student / job seeker"),
    (DisqualifyReason::Competitor, "competitor employee"),
    (DisqualifyReason::Duplicate, "duplicate of an existing lead"),
    (DisqualifyReason::OutOfScope, "outside service area"),
];

/// Rejection codes with weights, and the words a rep writes with each.
pub(crate) const REJECTIONS: [(RejectReason, f64, &str); 8] = [
    (RejectReason::NoBudget, 0.15, "no budget this fiscal year"),
    (
        RejectReason::NoNeed,
        0.20,
        "only collecting material, no project",
    ),
    (
        RejectReason::WrongContact,
        0.10,
        "contact is an intern; decision maker unknown",
    ),
    (
        RejectReason::Unreachable,
        0.20,
        "three calls, no answer; WeChat not accepted",
    ),
    (
        RejectReason::TooEarly,
        0.15,
        "evaluation planned for next year",
    ),
    (
        RejectReason::NotIcp,
        0.10,
        "company too small for our offering",
    ),
    (
        RejectReason::Duplicate,
        0.05,
        "already followed by another rep",
    ),
    (
        RejectReason::Other,
        0.05,
        "customer asked not to be contacted",
    ),
];

/// Why a rejected lead went back to the public pool (公海池).
pub(crate) const RECYCLE_AFTER_REJECT: &[(RecycleReason, &str)] = &[
    (
        RecycleReason::RejectedToNurture,
        "rejected by sales, returned to the public pool (公海池) for nurture",
    ),
    (
        RecycleReason::RejectedToNurture,
        "no follow-up plan after rejection; back to marketing nurture",
    ),
    (
        RecycleReason::NoResponse,
        "contact stopped answering after the rejection call",
    ),
];

/// Why an opportunity went stale and back to the pool. The stale rule is the system's, so
/// its facts name no rep (the fold then takes the owner who held the lead).
pub(crate) const RECYCLE_STALE: &[(RecycleReason, &str)] = &[
    (
        RecycleReason::Stale,
        "stale SQL: no activity for 30 days, returned to the public pool (公海池)",
    ),
    (
        RecycleReason::Stale,
        "stale SQL: no next step booked for 30 days, returned to the public pool",
    ),
    (
        RecycleReason::OwnerLeft,
        "rep left the company; account returned to the public pool",
    ),
    (
        RecycleReason::CustomerPaused,
        "customer paused the project; returned to the public pool",
    ),
];

/// Why an opportunity was lost without a POC.
pub(crate) const LOST_EARLY: &[(LossReason, &str)] = &[
    (LossReason::Budget, "budget cut"),
    (LossReason::Competitor, "chose a competitor"),
    (LossReason::Competitor, "competitor offered a bundled deal"),
    (LossReason::NoDecision, "project cancelled"),
    (
        LossReason::NoDecision,
        "no decision: priorities moved elsewhere",
    ),
    (LossReason::InHouse, "went with in-house development"),
    (LossReason::Price, "price too high"),
];

/// Why an opportunity was lost after a POC.
pub(crate) const LOST_AFTER_POC: &[(LossReason, &str)] = &[
    (
        LossReason::ProductFit,
        "POC did not meet performance requirements",
    ),
    (
        LossReason::ProductFit,
        "integration with the existing ERP too costly",
    ),
    (LossReason::Price, "lost on price in procurement"),
    (LossReason::Competitor, "competitor won the bid"),
    (
        LossReason::ChampionLeft,
        "decision maker changed, project frozen",
    ),
];

/// Competitors named on lost deals (left empty when unknown).
pub(crate) const COMPETITORS: &[&str] = &[
    "销售易",
    "纷享销客",
    "Salesforce",
    "HubSpot",
    "Zoho",
    "in-house",
];

/// First follow-up notes.
pub(crate) const FOLLOW_UP_NOTES: &[&str] = &[
    "first call: confirmed interest, sent product deck",
    "added on WeChat, scheduled an online demo",
    "e-mailed case studies of the same industry",
    "left a voicemail, will call again tomorrow",
    "on-site visit booked with the IT lead",
];

/// Later follow-up notes in an open opportunity.
pub(crate) const OPPORTUNITY_NOTES: &[&str] = &[
    "demo to the business team, positive feedback",
    "requirements workshop with IT and operations",
    "sent proposal and price quote",
    "security questionnaire answered",
    "meeting with procurement",
];

/// POC use cases.
pub(crate) const USE_CASES: &[&str] = &[
    "lead routing by region and industry",
    "end-to-end attribution of trade-show leads",
    "sales follow-up SLA monitoring",
    "CRM and marketing-automation data sync",
    "partner lead distribution and tracking",
];

/// Stage-feedback field texts, one pool per field in `FeedbackRecorded` order.
pub(crate) const FEEDBACK: [&[&str]; 7] = [
    // business_situation
    &[
        "revenue ~2bn CNY, 300 stores, CRM is a spreadsheet",
        "regional leader, digital transformation budget approved",
        "fast-growing SMB, 20 sales reps, no lead tracking",
        "group with 5 subsidiaries, each with its own CRM",
    ],
    // trigger
    &[
        "new CMO wants marketing ROI",
        "sales complained about lead quality",
        "lost leads after trade shows",
        "board asked for a pipeline report",
    ],
    // timeline
    &[
        "decision this quarter",
        "budget in Q4, go-live next year",
        "pilot within 2 months",
    ],
    // risks
    &[
        "IT capacity for integration",
        "procurement process takes 3 months",
        "champion may change roles",
    ],
    // competitors
    &["销售易", "纷享销客", "Salesforce", "in-house tool"],
    // progress
    &[
        "demo done, waiting for requirements",
        "technical evaluation ongoing",
        "shortlisted with one competitor",
    ],
    // commercial
    &[
        "price accepted in principle",
        "asked for a 15% discount",
        "annual subscription preferred",
    ],
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejection_codes_are_all_specified() {
        assert!(REJECTIONS.iter().all(|r| r.0 != RejectReason::Unspecified));
    }
}
