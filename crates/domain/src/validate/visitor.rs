//! The rules of an anonymous visitor's facts (`crate::identity::visitor`): only touches and
//! the link that says which lead the visitor is.

use super::{lead_id, lead_ref, Violations};
use crate::event::{Event, Payload};
use crate::identity::visitor;

/// The field of a link's lead.
const LINKED_LEAD: &str = "payload.identity_linked.lead_id";

/// Checks the visitor of `e` (its key in `lead_id`, set by ingest from `visitor_id`) and
/// an `identity_linked` payload. A visitor's key is checked here, as `visitor_id` (a lead's
/// id is not).
pub(super) fn event(v: &mut Violations, e: &Event) {
    let Some(id) = visitor::of(&e.lead_id) else {
        if let Payload::IdentityLinked(l) = &e.payload {
            v.add(
                "visitor_id",
                "required for identity_linked: the visitor the link is about (with an empty \
                 lead_id; the lead goes in payload.identity_linked.lead_id)",
            );
            lead_ref(v, LINKED_LEAD, &l.lead);
        }
        return;
    };
    lead_id(v, "visitor_id", id);
    match &e.payload {
        Payload::TouchRecorded(_) => {}
        Payload::IdentityLinked(l) => lead_ref(v, LINKED_LEAD, &l.lead),
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
