//! Consistency tokens: the log positions a write produced, handed back to the client so a
//! later query can wait until the projection has applied them (read-your-writes).
//!
//! Format (opaque to clients, stable for this major version): `ct1:<topic>:<p>@<o>,<p>@<o>`
//! holding the highest offset written per partition.

use std::collections::BTreeMap;

use leadledger_api::ApiError;
use leadledger_log::Position;

/// Highest written offset per partition of one topic.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Token {
    pub topic: String,
    pub offsets: BTreeMap<i32, i64>,
}

impl Token {
    /// The token covering `positions` of `topic`.
    pub fn new<'a>(topic: &str, positions: impl IntoIterator<Item = &'a Position>) -> Self {
        let mut offsets = BTreeMap::new();
        for p in positions {
            let o = offsets.entry(p.partition).or_insert(p.offset);
            *o = (*o).max(p.offset);
        }
        Self {
            topic: topic.to_string(),
            offsets,
        }
    }

    pub fn encode(&self) -> String {
        let parts: Vec<String> = self
            .offsets
            .iter()
            .map(|(p, o)| format!("{p}@{o}"))
            .collect();
        format!("ct1:{}:{}", self.topic, parts.join(","))
    }

    /// Parses a token; an empty string is "no token".
    pub fn parse(s: &str) -> Result<Option<Token>, ApiError> {
        if s.is_empty() {
            return Ok(None);
        }
        let bad =
            || ApiError::invalid_field("consistency_token", "not a token issued by this service");
        let rest = s.strip_prefix("ct1:").ok_or_else(bad)?;
        let (topic, list) = rest.rsplit_once(':').ok_or_else(bad)?;
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
        Ok(Some(Token {
            topic: topic.to_string(),
            offsets,
        }))
    }

    /// Whether `applied` (next offset to apply, by partition) covers this token.
    pub fn satisfied_by(&self, applied: &BTreeMap<i32, i64>) -> bool {
        self.offsets
            .iter()
            .all(|(p, o)| applied.get(p).is_some_and(|next| next > o))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_satisfaction() {
        let positions = [
            Position {
                partition: 0,
                offset: 5,
            },
            Position {
                partition: 2,
                offset: 9,
            },
            Position {
                partition: 0,
                offset: 7,
            },
        ];
        let t = Token::new("leadledger.events", &positions);
        let s = t.encode();
        assert_eq!(s, "ct1:leadledger.events:0@7,2@9");
        let back = Token::parse(&s).unwrap().unwrap();
        assert_eq!(back, t);
        let mut applied = BTreeMap::from([(0, 8), (2, 9)]);
        assert!(!back.satisfied_by(&applied));
        applied.insert(2, 10);
        assert!(back.satisfied_by(&applied));
        assert!(Token::parse("").unwrap().is_none());
        assert!(Token::parse("garbage").is_err());
        assert!(Token::parse("ct1:t:0@x").is_err());
    }
}
