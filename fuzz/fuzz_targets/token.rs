//! Consistency tokens: `Token::parse` on any string, and the encode → parse round trip.
//!
//! Input: the bytes as the token a client sends (when UTF-8; several tokens separated by
//! whitespace); then, read with `arbitrary`, a tenant, a topic and log positions to build a
//! token the way `Append` does (tenant ids and topic names never hold `:` or whitespace).
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use leadledger_api::ApiError;
use leadledger_fuzz::seeds;
use leadledger_log::Position;
use leadledger_grpc::token::Token;
use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: seeds::write_if_asked("token"),
    |data: &[u8]| run(data)
);

fn run(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        parse(s);
    }
    let mut u = Unstructured::new(data);
    let Ok((tenant, topic, positions)) = <(String, String, Vec<(u32, u64)>)>::arbitrary(&mut u)
    else {
        return;
    };
    let name = |s: &str, colon_ok: bool| {
        !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || (!colon_ok && c == ':'))
    };
    if !name(&tenant, false) || !name(&topic, true) {
        return;
    }
    // Kafka partitions and offsets are never negative.
    let positions: Vec<Position> = positions
        .into_iter()
        .map(|(p, o)| Position {
            partition: (p >> 1) as i32,
            offset: (o >> 2) as i64,
        })
        .collect();
    let t = Token::new(&tenant, &topic, &positions);
    for p in &positions {
        assert!(t.offsets[&p.partition] >= p.offset);
    }
    let s = t.encode();
    let back = Token::parse(&s)
        .unwrap_or_else(|e| panic!("{s:?} does not parse: {e}"))
        .expect("an encoded token is not empty");
    assert_eq!(back, t);
    // The positions a write produced are covered once the projection is one past each.
    let applied = t.offsets.iter().map(|(p, o)| (*p, o + 1)).collect();
    assert!(t.satisfied_by(&applied));
}

fn parse(s: &str) {
    match Token::parse(s) {
        // No token: empty or blank (tokens are separated by whitespace).
        Ok(None) => assert!(s.trim().is_empty()),
        Ok(Some(t)) => {
            assert!(t.offsets.iter().all(|(p, o)| *p >= 0 && *o >= 0));
            let again = Token::parse(&t.encode())
                .unwrap_or_else(|e| panic!("re-encoded {t:?} does not parse: {e}"));
            assert_eq!(again, Some(t));
        }
        Err(ApiError::Invalid { violations, .. }) => {
            assert!(!s.is_empty());
            assert_eq!(violations.len(), 1);
            assert_eq!(violations.0[0].field, "consistency_token");
        }
        Err(e) => panic!("parse can only refuse with a violation: {e:?}"),
    }
}
