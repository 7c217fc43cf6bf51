//! Personal data in the event model: a contact as the log holds it (sealed with its lead's
//! data key), the erasure fact, and the one part of a contact that is not personal (the
//! e-mail's domain, the employer's). docs/PRIVACY.md says what is personal and where it
//! lives; the sealing itself (AES-256-GCM) is `leadledger_api::sealed`'s.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The schema version of a capture whose contact is sealed (the log never holds a clear
/// contact at this version).
pub const SEALED_CONTACT_VERSION: u32 = 2;

/// A contact's personal fields encrypted with its lead's data key.
///
/// The nonce and ciphertext are not serialised: `lead_events.body` (the event as JSON, for
/// SQL readers) names the key and the domain only, and no reader decrypts from it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedContact {
    /// The data key (`contact_keys.key_id`).
    pub key_id: Uuid,
    #[serde(skip)]
    pub nonce: Vec<u8>,
    #[serde(skip)]
    pub ciphertext: Vec<u8>,
    /// [`email_domain`] of the sealed e-mail.
    pub email_domain: String,
}

/// A contact erased on request (`ContactErased`, written by `EraseContact` only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erasure {
    /// Who asked (a user or case id).
    pub requested_by: String,
    /// Why, e.g. the data subject's request reference.
    pub reason: String,
}

/// The domain part of an e-mail address, trimmed and lower-cased; empty for a text with no
/// `@`. Kept readable when the address is sealed: it names the employer, not the person, and
/// attribution's account key reads it (`leadledger_attribution::account`).
pub fn email_domain(email: &str) -> String {
    email
        .rfind('@')
        .map(|at| email[at + 1..].trim().to_ascii_lowercase())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_domain_is_what_follows_the_last_at() {
        assert_eq!(email_domain("Alice.Smith@ACME.com "), "acme.com");
        assert_eq!(email_domain("\"a@b\"@example.org"), "example.org");
        assert_eq!(email_domain("alice"), "");
        assert_eq!(email_domain("alice@"), "");
        assert_eq!(email_domain(""), "");
    }
}
