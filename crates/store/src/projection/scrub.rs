//! Clear contacts of erased leads taken out of `lead_events`.
//!
//! Since contacts are sealed (schema version 2) the log and `lead_events` hold no clear
//! contact, and erasing one destroys its key. A capture appended before (version 1) holds its
//! contact in clear: when its lead's contact is erased, its row is rewritten with the contact
//! taken out and the e-mail's domain kept (as a sealed contact that no key opens), so every
//! reader of the row folds the same figures as before and none reads the person. The topic's
//! version-1 records are not rewritten (docs/PRIVACY.md, "Before sealing").

use leadledger_api::convert::{self, Mode};
use leadledger_api::{pb, record};
use leadledger_domain::privacy::{email_domain, SEALED_CONTACT_VERSION};
use leadledger_domain::Violations;
use prost::Message as _;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::StoreError;

const CLEAR: &str = include_str!("sql/clear_captures.sql");
const SCRUB: &str = include_str!("sql/scrub_captures.sql");

/// Rewrites the clear captures of the leads `(tenants[i], leads[i])`; returns how many.
pub(super) async fn erased(
    tx: &mut Transaction<'static, Postgres>,
    tenants: &[&str],
    leads: &[&str],
) -> Result<usize, StoreError> {
    let rows: Vec<(Uuid, String, String, Vec<u8>)> = sqlx::query_as(CLEAR)
        .bind(tenants)
        .bind(leads)
        .fetch_all(&mut **tx)
        .await?;
    let (mut ids, mut owners, mut bodies, mut raws) = (vec![], vec![], vec![], vec![]);
    for (id, tenant, event_type, raw) in rows {
        let Some((body, raw)) = without_contact(&raw, &event_type)? else {
            continue;
        };
        ids.push(id);
        owners.push(tenant);
        bodies.push(body);
        raws.push(raw);
    }
    if ids.is_empty() {
        return Ok(0);
    }
    sqlx::query(SCRUB)
        .bind(&ids)
        .bind(&owners)
        .bind(&bodies)
        .bind(&raws)
        .execute(&mut **tx)
        .await?;
    Ok(ids.len())
}

/// A clear capture's row (`body`, `raw`) with the contact taken out; `None` for a record
/// with no clear contact.
fn without_contact(
    raw: &[u8],
    event_type: &str,
) -> Result<Option<(serde_json::Value, Vec<u8>)>, StoreError> {
    let corrupt = |e: String| StoreError::Corrupt(format!("lead_events.raw ({event_type}): {e}"));
    let mut wire = record::decode(Some(raw)).map_err(|e| corrupt(e.to_string()))?;
    let Some(pb::event::Payload::LeadCaptured(c)) = &mut wire.payload else {
        return Ok(None);
    };
    let Some(contact) = c.contact.take() else {
        return Ok(None);
    };
    c.sealed_contact = Some(pb::SealedContact {
        key_id: Uuid::nil().to_string(),
        email_domain: email_domain(&contact.email),
        ..Default::default()
    });
    wire.schema_version = SEALED_CONTACT_VERSION;
    let mut v = Violations::default();
    let event = convert::event_from_proto(&wire, Mode::Log, event_type, &mut v)
        .ok_or_else(|| corrupt(record::describe(&v)))?;
    let body = serde_json::to_value(&event).map_err(|e| corrupt(e.to_string()))?;
    Ok(Some((body, wire.encode_to_vec())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clear_capture_loses_its_contact_and_keeps_its_domain() {
        let wire = pb::Event {
            event_id: Uuid::new_v4().to_string(),
            tenant_id: "acme".into(),
            lead_id: "l1".into(),
            occurred_at: Some(prost_types::Timestamp::default()),
            recorded_at: Some(prost_types::Timestamp::default()),
            schema_version: 1,
            event_type: "lead_captured".into(),
            payload: Some(pb::event::Payload::LeadCaptured(pb::LeadCaptured {
                contact: Some(pb::Contact {
                    email: "li.wei@Globex.example".into(),
                    name: "Li Wei".into(),
                    phone: "+86 10 5555 0199".into(),
                    title: "CFO".into(),
                }),
                source: Some(pb::LeadSource {
                    channel: "event".into(),
                    ..Default::default()
                }),
                ..Default::default()
            })),
            ..Default::default()
        };
        let (body, raw) = without_contact(&wire.encode_to_vec(), "lead_captured")
            .unwrap()
            .unwrap();
        for clear in ["li.wei", "Li Wei", "5555", "CFO"] {
            assert!(!body.to_string().contains(clear), "{clear} in {body}");
            assert!(!raw.windows(clear.len()).any(|w| w == clear.as_bytes()));
        }
        let e = record::decode_event(&raw, "lead_captured").unwrap();
        let leadledger_domain::Payload::LeadCaptured(c) = e.payload else {
            panic!("not a capture");
        };
        assert_eq!(c.email_domain(), "globex.example");
        assert!(c.contact.email.is_empty());
        // Done once: the rewritten row has no clear contact left.
        assert!(without_contact(&raw, "lead_captured").unwrap().is_none());
    }
}
