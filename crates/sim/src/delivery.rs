//! Delivery order: how the facts reach the ledger, not how they happened.
//!
//! Source systems send roughly in business-time order, but adapters retry (the same fact,
//! same source id, arrives twice) and batch jobs lag (a fact arrives hundreds of positions
//! later, or only at the very end with a nightly sync). The ledger must give the same read
//! models whatever the order, so the simulator produces exactly these disorders.

use leadledger_api::pb;
use rand::Rng;

use crate::dist::chance;

/// Share of late events that only arrive with a final bulk sync, at the end.
const TO_THE_END: f64 = 0.1;
/// Furthest a late event moves, in positions.
const MAX_LATE: usize = 500;
/// Furthest a retry lands after the original, in positions.
const MAX_RETRY_GAP: usize = 200;

/// Reorders `events` (sorted by business time) into delivery order, moving a share
/// `late_rate` later and delivering a share `duplicate_rate` twice. A duplicate always
/// comes after its original, as a retry does.
pub(crate) fn schedule(
    rng: &mut impl Rng,
    events: Vec<pb::Event>,
    duplicate_rate: f64,
    late_rate: f64,
) -> Vec<pb::Event> {
    let n = events.len();
    // (position, copy, original index): sorting gives the delivery order, ties broken
    // deterministically.
    let mut slots: Vec<(usize, u8, usize)> = Vec::with_capacity(n + n / 16);
    for i in 0..n {
        let pos = if chance(rng, late_rate) {
            if chance(rng, TO_THE_END) {
                n + rng.gen_range(0..=n / 50)
            } else {
                i + rng.gen_range(1..=MAX_LATE)
            }
        } else {
            i
        };
        slots.push((pos, 0, i));
        if chance(rng, duplicate_rate) {
            slots.push((pos + rng.gen_range(1..=MAX_RETRY_GAP), 1, i));
        }
    }
    slots.sort_unstable();
    let mut events: Vec<Option<pb::Event>> = events.into_iter().map(Some).collect();
    let mut duplicated = vec![false; n];
    for &(_, copy, i) in &slots {
        if copy == 1 {
            duplicated[i] = true;
        }
    }
    let mut out = Vec::with_capacity(slots.len());
    for (_, copy, i) in slots {
        // The original precedes its copy, so the copy can take the event itself.
        let e = if copy == 0 && duplicated[i] {
            events[i].clone()
        } else {
            events[i].take()
        };
        out.extend(e);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn numbered(n: usize) -> Vec<pb::Event> {
        (0..n)
            .map(|i| pb::Event {
                lead_id: i.to_string(),
                ..Default::default()
            })
            .collect()
    }

    #[test]
    fn every_event_is_delivered_and_the_rates_hold() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let n = 20_000;
        let out = schedule(&mut rng, numbered(n), 0.03, 0.05);
        let mut seen = vec![0u32; n];
        for e in &out {
            seen[e.lead_id.parse::<usize>().unwrap()] += 1;
        }
        assert!(seen.iter().all(|&c| c == 1 || c == 2));
        let dups = seen.iter().filter(|&&c| c == 2).count() as f64 / n as f64;
        assert!((0.02..0.04).contains(&dups), "{dups}");
        // Moved: delivered after some event that happened later.
        let mut max_seen = 0usize;
        let mut out_of_order = 0;
        for e in &out {
            let i: usize = e.lead_id.parse().unwrap();
            if i < max_seen {
                out_of_order += 1;
            }
            max_seen = max_seen.max(i);
        }
        assert!(out_of_order > n / 100, "{out_of_order}");
    }

    #[test]
    fn zero_rates_keep_the_order() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let out = schedule(&mut rng, numbered(100), 0.0, 0.0);
        assert_eq!(out, numbered(100));
    }
}
