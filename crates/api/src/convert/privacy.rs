//! Sealed contacts, erasures and identity requests (merge, unmerge), between the wire and the
//! domain.

use leadledger_domain::identity::{MergeRequest, UnmergeRequest};
use leadledger_domain::privacy::{Erasure, SealedContact};
use leadledger_domain::Violations;

use crate::pb;

/// A sealed contact from the wire; violations under `field`.
pub(super) fn sealed_from_proto(
    v: &mut Violations,
    field: &str,
    s: &pb::SealedContact,
) -> SealedContact {
    let key_id = uuid::Uuid::parse_str(&s.key_id).unwrap_or_else(|_| {
        v.add(format!("{field}.key_id"), "must be a UUID");
        uuid::Uuid::nil()
    });
    SealedContact {
        key_id,
        nonce: s.nonce.clone(),
        ciphertext: s.ciphertext.clone(),
        email_domain: s.email_domain.clone(),
    }
}

/// A sealed contact for the wire.
pub fn sealed_to_proto(s: &SealedContact) -> pb::SealedContact {
    pb::SealedContact {
        key_id: s.key_id.to_string(),
        nonce: s.nonce.clone(),
        ciphertext: s.ciphertext.clone(),
        email_domain: s.email_domain.clone(),
    }
}

pub(super) fn erasure_from_proto(e: &pb::ContactErased) -> Erasure {
    Erasure {
        requested_by: e.requested_by.clone(),
        reason: e.reason.clone(),
    }
}

pub(super) fn erasure_to_proto(e: &Erasure) -> pb::ContactErased {
    pb::ContactErased {
        requested_by: e.requested_by.clone(),
        reason: e.reason.clone(),
    }
}

pub(super) fn merge_from_proto(m: &pb::MergeRequested) -> MergeRequest {
    MergeRequest {
        survivor: m.survivor_id.clone(),
        merged: m.merged_ids.clone(),
        reason: m.reason.clone(),
        requested_by: m.requested_by.clone(),
    }
}

pub(super) fn merge_to_proto(m: &MergeRequest) -> pb::MergeRequested {
    pb::MergeRequested {
        survivor_id: m.survivor.clone(),
        merged_ids: m.merged.clone(),
        reason: m.reason.clone(),
        requested_by: m.requested_by.clone(),
    }
}

pub(super) fn unmerge_from_proto(m: &pb::UnmergeRequested) -> UnmergeRequest {
    UnmergeRequest {
        lead: m.lead_id.clone(),
        reason: m.reason.clone(),
        requested_by: m.requested_by.clone(),
    }
}

pub(super) fn unmerge_to_proto(m: &UnmergeRequest) -> pb::UnmergeRequested {
    pb::UnmergeRequested {
        lead_id: m.lead.clone(),
        reason: m.reason.clone(),
        requested_by: m.requested_by.clone(),
    }
}
