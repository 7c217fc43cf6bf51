//! Consistency tokens: the log positions a write produced, handed back to the client so a
//! later query can wait until the projection has applied them (read-your-writes).
//!
//! Format (opaque to clients, stable for this major version):
//! `ct2:<tenant>:<topic>:<p>@<o>,<p>@<o>` holding the highest offset written per partition.
//! A token is bound to the tenant whose write produced it: another tenant's query refuses
//! it. A query may carry several tokens separated by spaces (`"<t1> <t2>"`): it waits for
//! all of them, so a client that streamed many events joins their tokens without parsing
//! them. `ct1` tokens (no tenant; before 2026-12) are refused with a message saying so.

use std::collections::BTreeMap;

use leadledger_api::ApiError;
use leadledger_log::Position;

/// Highest written offset per partition of one topic, for one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Token {
    pub tenant: String,
    pub topic: String,
    pub offsets: BTreeMap<i32, i64>,
}

const FIELD: &str = "consistency_token";

impl Token {
    /// The token of `tenant` covering `positions` of `topic`.
    pub fn new<'a>(
        tenant: &str,
        topic: &str,
        positions: impl IntoIterator<Item = &'a Position>,
    ) -> Self {
        let mut t = Self {
            tenant: tenant.to_string(),
            topic: topic.to_string(),
            offsets: BTreeMap::new(),
        };
        for p in positions {
            t.cover(p.partition, p.offset);
        }
        t
    }

    fn cover(&mut self, partition: i32, offset: i64) {
        let o = self.offsets.entry(partition).or_insert(offset);
        *o = (*o).max(offset);
    }

    pub fn encode(&self) -> String {
        let parts: Vec<String> = self
            .offsets
            .iter()
            .map(|(p, o)| format!("{p}@{o}"))
            .collect();
        format!("ct2:{}:{}:{}", self.tenant, self.topic, parts.join(","))
    }

    /// Parses what a query carries: no token (empty), one, or several separated by
    /// whitespace, merged into one (the highest offset per partition). Every token must
    /// belong to the same tenant and topic.
    pub fn parse(s: &str) -> Result<Option<Token>, ApiError> {
        let mut merged: Option<Token> = None;
        for one in s.split_whitespace() {
            let t = Self::parse_one(one)?;
            match &mut merged {
                None => merged = Some(t),
                Some(m) => m.merge(t)?,
            }
        }
        Ok(merged)
    }

    /// Folds `other` into this token (the highest offset per partition): a query waiting for
    /// the result waits for both. An empty token (`Token::default()`) takes `other`'s tenant
    /// and topic; otherwise they must be the same.
    pub fn merge(&mut self, other: Token) -> Result<(), ApiError> {
        if self.tenant.is_empty() && self.topic.is_empty() && self.offsets.is_empty() {
            *self = other;
            return Ok(());
        }
        if self.tenant != other.tenant || self.topic != other.topic {
            return Err(ApiError::invalid_field(
                FIELD,
                "the tokens belong to different tenants or topics",
            ));
        }
        for (p, o) in other.offsets {
            self.cover(p, o);
        }
        Ok(())
    }

    fn parse_one(s: &str) -> Result<Token, ApiError> {
        let bad = || ApiError::invalid_field(FIELD, "not a token issued by this service");
        if s.starts_with("ct1:") {
            return Err(ApiError::invalid_field(
                FIELD,
                "a ct1 token predates tokens bound to tenants; use the token of a newer write",
            ));
        }
        let rest = s.strip_prefix("ct2:").ok_or_else(bad)?;
        let (tenant, rest) = rest.split_once(':').ok_or_else(bad)?;
        let (topic, list) = rest.rsplit_once(':').ok_or_else(bad)?;
        if tenant.is_empty() || topic.is_empty() {
            return Err(bad());
        }
        let mut offsets = BTreeMap::new();
        for item in list.split(',').filter(|i| !i.is_empty()) {
            let (p, o) = item.split_once('@').ok_or_else(bad)?;
            let p: i32 = p.parse().map_err(|_| bad())?;
            let o: i64 = o.parse().map_err(|_| bad())?;
            if p < 0 || o < 0 {
                return Err(bad());
            }
            offsets.insert(p, o);
        }
        Ok(Token {
            tenant: tenant.to_string(),
            topic: topic.to_string(),
            offsets,
        })
    }

    /// Whether `applied` (next offset to apply, by partition) covers this token.
    pub fn satisfied_by(&self, applied: &BTreeMap<i32, i64>) -> bool {
        self.offsets
            .iter()
            .all(|(p, o)| applied.get(p).is_some_and(|next| next > o))
    }

    /// The partitions whose position `applied` does not cover yet.
    pub fn pending(&self, applied: &BTreeMap<i32, i64>) -> Vec<i32> {
        self.offsets
            .iter()
            .filter(|(p, o)| applied.get(p).is_none_or(|next| next <= o))
            .map(|(p, _)| *p)
            .collect()
    }

    /// The first position of the token at or past `ends` (the log's end offset by
    /// partition): a position no write has produced.
    pub fn beyond(&self, ends: &BTreeMap<i32, i64>) -> Option<(i32, i64)> {
        self.offsets
            .iter()
            .find(|(p, o)| ends.get(p).is_none_or(|end| **o >= *end))
            .map(|(p, o)| (*p, *o))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(partition: i32, offset: i64) -> Position {
        Position { partition, offset }
    }

    #[test]
    fn round_trip_and_satisfaction() {
        let t = Token::new("acme", "leadledger.events", &[at(0, 5), at(2, 9), at(0, 7)]);
        let s = t.encode();
        assert_eq!(s, "ct2:acme:leadledger.events:0@7,2@9");
        let back = Token::parse(&s).unwrap().unwrap();
        assert_eq!(back, t);
        let mut applied = BTreeMap::from([(0, 8), (2, 9)]);
        assert!(!back.satisfied_by(&applied));
        applied.insert(2, 10);
        assert!(back.satisfied_by(&applied));
        assert!(Token::parse("").unwrap().is_none());
        assert!(Token::parse("garbage").is_err());
        assert!(Token::parse("ct2:acme:t:0@x").is_err());
        assert!(Token::parse("ct2::t:0@1").is_err());
        let e = Token::parse("ct1:t:0@1").unwrap_err().to_string();
        assert!(e.contains("predates"), "{e}");
    }

    #[test]
    fn several_tokens_merge_and_must_agree() {
        let a = Token::new("acme", "ev", &[at(0, 5), at(1, 3)]).encode();
        let b = Token::new("acme", "ev", &[at(0, 2), at(2, 8)]).encode();
        let m = Token::parse(&format!("{a} {b}")).unwrap().unwrap();
        assert_eq!(m.offsets, BTreeMap::from([(0, 5), (1, 3), (2, 8)]));
        let other = Token::new("globex", "ev", &[at(0, 1)]).encode();
        assert!(Token::parse(&format!("{a} {other}")).is_err());
        // Folding one at a time from an empty token gives the same.
        let mut folded = Token::default();
        for t in [&a, &b] {
            folded.merge(Token::parse(t).unwrap().unwrap()).unwrap();
        }
        assert_eq!(folded, m);
        assert!(folded
            .merge(Token::parse(&other).unwrap().unwrap())
            .is_err());
    }

    #[test]
    fn positions_past_the_end_are_found() {
        let t = Token::new("acme", "ev", &[at(0, 5), at(1, 3)]);
        assert_eq!(t.beyond(&BTreeMap::from([(0, 6), (1, 4)])), None);
        assert_eq!(t.beyond(&BTreeMap::from([(0, 6), (1, 3)])), Some((1, 3)));
        assert_eq!(t.beyond(&BTreeMap::from([(0, 6)])), Some((1, 3)));
    }
}
