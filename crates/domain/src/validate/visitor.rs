//! The rules of an anonymous visitor's facts (`crate::identity::visitor`): only touches and
//! the link that says which lead the visitor is.

use super::{lead_id, Violations};
use crate::event::{Event, Payload};
use crate::identity::visitor;

/// Checks the visitor of `e` (its key in `lead_id`, set by ingest from `visitor_id`) and
/// an `identity_linked` payload. A visitor's key is checked here, as `visitor_id` (a lead's
/// id is not).
pub(super) fn event(v: &mut Violations, e: &Event) {
    let linked = match &e.payload {
        Payload::IdentityLinked(l) => Some(l),
        _ => None,
    };
    let Some(id) = visitor::of(&e.lead_id) else {
        if linked.is_some() {
            v.add(
                "visitor_id",
                "required for identity_linked: the visitor the link is about (with an empty \
                 lead_id; the lead goes in payload.identity_linked.lead_id)",
            );
        }
        if let Some(l) = linked {
            lead(v, &l.lead);
        }
        return;
    };
    lead_id(v, "visitor_id", id);
    match &e.payload {
        Payload::TouchRecorded(_) => {}
        Payload::IdentityLinked(l) => lead(v, &l.lead),
        p => v.add(
            "visitor_id",
            format!(
                "a visitor's facts are touches and its identity_linked only: send `{}` with the \
                 lead_id of the lead (once it is linked, the visitor's touches are that lead's)",
                p.event_type()
            ),
        ),
    }
}

fn lead(v: &mut Violations, lead: &str) {
    let f = "payload.identity_linked.lead_id";
    lead_id(v, f, lead);
    if lead.starts_with('~') {
        v.add(
            f,
            "must not start with `~` (reserved for spend and visitors)",
        );
    }
}
