//! API keys as callers hold them: `llk_<key id>_<secret>`, 12 and 64 lowercase hex digits.
//! The key id is public (listed, logged); the secret is 256 random bits from the operating
//! system, shown once and stored only as its SHA-256.

use chrono::{DateTime, Utc};
use leadledger_store::keys::{self, NewKey};
use leadledger_store::{Store, StoreError};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// What every key starts with (so secret scanners and people recognise one).
pub const PREFIX: &str = "llk_";

/// A freshly made key: what to show once, and what to store.
#[derive(Debug, Clone)]
pub struct NewSecret {
    pub key_id: String,
    /// The whole key, `llk_<id>_<secret>`: shown once, never stored.
    pub key: String,
    pub secret_sha256: [u8; 32],
}

/// Makes a new key from the operating system's random source.
pub fn generate() -> NewSecret {
    let mut id = [0u8; 6];
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut id);
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let key_id = hex::encode(id);
    let secret = hex::encode(secret);
    NewSecret {
        key: format!("{PREFIX}{key_id}_{secret}"),
        secret_sha256: hash(&secret),
        key_id,
    }
}

/// What a new credential is, but for its id and secret, which [`issue`] makes.
#[derive(Debug, Clone, Copy)]
pub struct Grant<'a> {
    pub tenant_id: &'a str,
    /// A label for people (who or what holds it).
    pub name: &'a str,
    pub scopes: &'a [String],
    pub expires_at: Option<DateTime<Utc>>,
    /// A client-certificate identity (`cn:…`, `dns:…`, `uri:…`) for a binding; empty for a
    /// bearer key.
    pub client_cert: &'a str,
}

/// Makes a credential for `grant` and stores it (only its secret's hash); returns the key to
/// show once (a binding's secret is never shown: it cannot be used as a bearer key).
pub async fn issue(store: &Store, grant: &Grant<'_>) -> Result<NewSecret, StoreError> {
    let made = generate();
    keys::insert(
        &store.pool,
        &NewKey {
            key_id: &made.key_id,
            tenant_id: grant.tenant_id,
            name: grant.name,
            scopes: grant.scopes,
            secret_sha256: &made.secret_sha256,
            expires_at: grant.expires_at,
            replaces: "",
            client_cert: grant.client_cert,
        },
    )
    .await?;
    Ok(made)
}

/// The parts of a presented key: `(key id, secret)`; `None` when it is not shaped like one.
pub fn parse(presented: &str) -> Option<(&str, &str)> {
    let rest = presented.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex(id, 12) && hex(secret, 64)).then_some((id, secret))
}

/// SHA-256 of a key's secret part.
pub fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.to_ascii_lowercase().as_bytes()).into()
}

/// Compares two digests in time independent of where they differ.
pub fn same_digest(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_parses_and_its_hash_matches() {
        let k = generate();
        assert!(k.key.starts_with("llk_"));
        assert_eq!(k.key.len(), 4 + 12 + 1 + 64);
        let (id, secret) = parse(&k.key).expect("parses");
        assert_eq!(id, k.key_id);
        assert!(same_digest(&hash(secret), &k.secret_sha256));
        assert_ne!(generate().key, k.key);
    }

    #[test]
    fn malformed_keys_do_not_parse() {
        for bad in [
            "",
            "llk_",
            "llk_abc_def",
            "xyz_0123456789ab_0000000000000000000000000000000000000000000000000000000000000000",
            "llk_0123456789ab_000000000000000000000000000000000000000000000000000000000000000",
            "llk_0123456789ag_0000000000000000000000000000000000000000000000000000000000000000",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
        assert!(!same_digest(&[1, 2], &[1, 3]));
        assert!(!same_digest(&[1, 2], &[1]));
    }
}
