//! A contact sealed with its lead's data key before it goes to the log, and opened again by
//! the readers that hold the key (crypto-shredding, docs/PRIVACY.md).
//!
//! The cipher is AES-256-GCM (ring) with a random 96-bit nonce per sealing: a key seals the
//! captures of one lead, a handful at most, far below the 2³² messages a random nonce is good
//! for. The authenticated data binds a ciphertext to its tenant, lead and key, so a sealed
//! contact copied onto another lead does not open. Keys are made here and kept in PostgreSQL
//! (`leadledger_store::contact_keys`); destroying a key is the erasure.

use std::collections::HashMap;
use std::fmt;

use leadledger_domain::event::Contact;
use leadledger_domain::privacy::{email_domain, SealedContact};
use leadledger_domain::{Event, Payload};
use prost::Message as _;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use uuid::Uuid;

use crate::pb;

/// Bytes of a data key.
pub const KEY_LEN: usize = 32;

/// A lead's data key. Its bytes are never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct DataKey {
    pub id: Uuid,
    pub bytes: [u8; KEY_LEN],
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl DataKey {
    /// A new key from the system's random numbers (with a fresh UUIDv4 id).
    pub fn generate() -> Result<Self, SealError> {
        let mut bytes = [0u8; KEY_LEN];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| SealError::Random)?;
        Ok(Self {
            id: Uuid::new_v4(),
            bytes,
        })
    }
}

/// Why a contact could not be sealed or opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("the system's random number generator failed")]
    Random,
    #[error("a data key must be {KEY_LEN} bytes")]
    KeyLength,
    #[error("the sealed contact does not open with its key (tampered, or another lead's)")]
    Open,
    #[error("the opened contact is not a leadledger.v1.Contact: {0}")]
    Decode(String),
}

fn aad(tenant: &str, lead: &str, key_id: Uuid) -> Vec<u8> {
    let mut a = Vec::with_capacity(64 + tenant.len() + lead.len());
    a.extend_from_slice(b"leadledger.contact.v1\0");
    a.extend_from_slice(tenant.as_bytes());
    a.push(0);
    a.extend_from_slice(lead.as_bytes());
    a.push(0);
    a.extend_from_slice(key_id.as_bytes());
    a
}

fn cipher(key: &[u8]) -> Result<LessSafeKey, SealError> {
    UnboundKey::new(&AES_256_GCM, key)
        .map(LessSafeKey::new)
        .map_err(|_| SealError::KeyLength)
}

/// Seals `contact` of lead `lead` of `tenant` with `key`.
pub fn seal(
    contact: &pb::Contact,
    key: &DataKey,
    tenant: &str,
    lead: &str,
) -> Result<pb::SealedContact, SealError> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| SealError::Random)?;
    let mut buf = contact.encode_to_vec();
    cipher(&key.bytes)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad(tenant, lead, key.id)),
            &mut buf,
        )
        .map_err(|_| SealError::Open)?;
    Ok(pb::SealedContact {
        key_id: key.id.to_string(),
        nonce: nonce.to_vec(),
        ciphertext: buf,
        email_domain: email_domain(&contact.email),
    })
}

/// Opens a sealed contact of lead `lead` of `tenant` with the key's bytes.
pub fn open(
    sealed: &SealedContact,
    key: &[u8],
    tenant: &str,
    lead: &str,
) -> Result<Contact, SealError> {
    let nonce = Nonce::try_assume_unique_for_key(&sealed.nonce).map_err(|_| SealError::Open)?;
    let mut buf = sealed.ciphertext.clone();
    let plain = cipher(key)?
        .open_in_place(nonce, Aad::from(aad(tenant, lead, sealed.key_id)), &mut buf)
        .map_err(|_| SealError::Open)?;
    let c = pb::Contact::decode(&*plain).map_err(|e| SealError::Decode(e.to_string()))?;
    Ok(Contact {
        email: c.email,
        phone: c.phone,
        name: c.name,
        title: c.title,
    })
}

/// What [`open_all`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Opened {
    /// Sealed contacts opened.
    pub opened: usize,
    /// Sealed contacts whose key is not in `keys` (destroyed by an erasure, or lost with a
    /// database restored without it): left empty.
    pub no_key: usize,
    /// Sealed contacts that did not open with their key (the log or the key store was
    /// tampered with): left empty.
    pub failed: usize,
}

/// The data key ids of the sealed captures among `events` (to fetch their keys).
pub fn key_ids<'a>(events: impl IntoIterator<Item = &'a Event>) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = events
        .into_iter()
        .filter_map(|e| match &e.payload {
            Payload::LeadCaptured(c) => c.sealed.as_ref().map(|s| s.key_id),
            _ => None,
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Whether `e` is a capture with a sealed contact.
pub fn is_sealed(e: &Event) -> bool {
    matches!(&e.payload, Payload::LeadCaptured(c) if c.sealed.is_some())
}

/// Opens the sealed captures among `events` with `keys` (key id → bytes). A capture whose
/// key is missing, or that does not open with it, keeps an empty contact (counted apart):
/// the rest of the lead folds as ever.
pub fn open_all<'a>(
    events: impl IntoIterator<Item = &'a mut Event>,
    keys: &HashMap<Uuid, Vec<u8>>,
) -> Opened {
    let mut out = Opened::default();
    for e in events {
        let Payload::LeadCaptured(c) = &mut e.payload else {
            continue;
        };
        let Some(sealed) = &c.sealed else { continue };
        match keys.get(&sealed.key_id) {
            Some(key) => match open(sealed, key, &e.tenant_id, &e.lead_id) {
                Ok(contact) => {
                    c.contact = contact;
                    out.opened += 1;
                }
                Err(_) => out.failed += 1,
            },
            None => out.no_key += 1,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact() -> pb::Contact {
        pb::Contact {
            email: "Li.Wei@Acme.example".into(),
            phone: "+86 21 5555 0101".into(),
            name: "Li Wei".into(),
            title: "CTO".into(),
        }
    }

    fn domain(s: &pb::SealedContact) -> SealedContact {
        SealedContact {
            key_id: Uuid::parse_str(&s.key_id).unwrap(),
            nonce: s.nonce.clone(),
            ciphertext: s.ciphertext.clone(),
            email_domain: s.email_domain.clone(),
        }
    }

    #[test]
    fn a_sealed_contact_opens_with_its_key_and_holds_no_clear_text() {
        let key = DataKey::generate().unwrap();
        let sealed = seal(&contact(), &key, "acme", "lead-1").unwrap();
        assert_eq!(sealed.email_domain, "acme.example");
        let bytes = sealed.encode_to_vec();
        for clear in ["Li.Wei", "Li Wei", "5555", "CTO"] {
            assert!(
                !bytes.windows(clear.len()).any(|w| w == clear.as_bytes()),
                "{clear} in the sealed bytes"
            );
        }
        let opened = open(&domain(&sealed), &key.bytes, "acme", "lead-1").unwrap();
        assert_eq!(opened.email, "Li.Wei@Acme.example");
        assert_eq!(opened.name, "Li Wei");
        // Two sealings of one contact differ (fresh nonce).
        let again = seal(&contact(), &key, "acme", "lead-1").unwrap();
        assert_ne!(again.ciphertext, sealed.ciphertext);
    }

    #[test]
    fn it_does_not_open_with_another_key_lead_or_tenant_or_when_tampered() {
        let key = DataKey::generate().unwrap();
        let other = DataKey::generate().unwrap();
        let sealed = domain(&seal(&contact(), &key, "acme", "lead-1").unwrap());
        assert_eq!(
            open(&sealed, &other.bytes, "acme", "lead-1"),
            Err(SealError::Open)
        );
        assert_eq!(
            open(&sealed, &key.bytes, "acme", "lead-2"),
            Err(SealError::Open)
        );
        assert_eq!(
            open(&sealed, &key.bytes, "globex", "lead-1"),
            Err(SealError::Open)
        );
        let mut bad = sealed.clone();
        bad.ciphertext[0] ^= 1;
        assert_eq!(
            open(&bad, &key.bytes, "acme", "lead-1"),
            Err(SealError::Open)
        );
        assert_eq!(
            open(&sealed, &key.bytes[..16], "acme", "lead-1"),
            Err(SealError::KeyLength)
        );
    }

    #[test]
    fn a_key_never_prints_its_bytes() {
        let key = DataKey::generate().unwrap();
        let shown = format!("{key:?}");
        assert!(shown.contains(&key.id.to_string()));
        assert!(!shown.contains(&format!("{:?}", key.bytes)));
    }
}
