//! The checks of command requests that are no events: erasing a contact, merging and
//! unmerging leads (the rules that need no other fact).

use super::{lead_id, text, Violations};

/// The longest erasure reason.
pub const MAX_ERASURE_REASON: usize = 500;

/// Checks an erasure request (`EraseContact`): who asks is required, the reason is short
/// text.
pub fn erasure(v: &mut Violations, e: &crate::privacy::Erasure) {
    lead_id(v, "requested_by", &e.requested_by);
    text(v, "reason", &e.reason, MAX_ERASURE_REASON);
}

/// The longest reason of a merge or unmerge.
pub const MAX_MERGE_REASON: usize = 500;

/// Checks a merge request's fields (the rules that need no other merge).
pub fn merge(v: &mut Violations, r: &crate::identity::MergeRequest) {
    lead_ref(v, "survivor_id", &r.survivor);
    if r.merged.is_empty() {
        v.add("merged_ids", "required: at least one lead to merge");
    } else if r.merged.len() > crate::identity::MAX_MERGED {
        v.add(
            "merged_ids",
            format!(
                "at most {} leads per request (got {})",
                crate::identity::MAX_MERGED,
                r.merged.len()
            ),
        );
    }
    for (i, m) in r.merged.iter().enumerate() {
        let f = format!("merged_ids[{i}]");
        lead_ref(v, &f, m);
        if m == &r.survivor {
            v.add(&f, "is the survivor: a lead cannot be merged into itself");
        } else if r.merged[..i].contains(m) {
            v.add(&f, "repeats an earlier id");
        }
    }
    merge_who(v, &r.requested_by, &r.reason);
}

/// Checks an unmerge request's fields.
pub fn unmerge(v: &mut Violations, r: &crate::identity::UnmergeRequest) {
    lead_ref(v, "lead_id", &r.lead);
    merge_who(v, &r.requested_by, &r.reason);
}

/// Checks a lead a request names: a lead id, and none of the `~` keys (spend, identity
/// intents, visitors) that no lead has.
pub fn lead_ref(v: &mut Violations, field: &str, id: &str) {
    lead_id(v, field, id);
    if id.starts_with('~') {
        v.add(field, "must not start with `~` (no lead's id does)");
    }
}

fn merge_who(v: &mut Violations, requested_by: &str, reason: &str) {
    lead_id(v, "requested_by", requested_by);
    if reason.trim().is_empty() {
        v.add("reason", "required: say why (kept for the audit)");
    } else {
        text(v, "reason", reason, MAX_MERGE_REASON);
    }
}
