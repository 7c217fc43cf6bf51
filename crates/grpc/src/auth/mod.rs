//! Authentication: API keys (or client certificates) bound to one tenant, with scopes, checked
//! on every call.
//!
//! # Layout
//! - [`key`]: the key format (`llk_<id>_<secret>`), making keys, hashing secrets.
//! - [`scope`]: what a key may do ([`Scope`]), who a call comes from ([`Caller`]) and
//!   what each RPC needs.
//! - [`ring`]: every key in memory, reloaded in the background (the revocation bound).
//! - [`cert`]: client certificates (mutual TLS) as credentials: their typed identities.
//! - [`client`]: the interceptor leadledger's own clients send their key with.
//! - [`gate`]: the tower layer that admits or refuses each call, with per-key limits.
//!
//! The tenant of an authenticated call is its key's ([`crate::tenant`]); a request naming
//! another tenant is refused with PERMISSION_DENIED. docs/SECURITY.md has the threat model.

pub mod cert;
pub mod client;
pub mod gate;
pub mod key;
pub mod ring;
pub mod scope;

pub use gate::{Gate, GateConfig};
pub use ring::KeyRing;
pub use scope::{Caller, Scope};
