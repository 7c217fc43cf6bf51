//! Notices partitions of the events topic that have records no projector applies.
//!
//! The consumer group decides which projector reads which partition, and a group can hand a
//! partition to nobody that works: Tansu 0.6.0 was seen giving a restarted projector an empty
//! (or partial) assignment for good while its heartbeats kept succeeding
//! (docs/RELIABILITY.md), and a member can hang while the broker still counts it. Such a
//! process is up and healthy and applies nothing, and nothing else would notice.
//!
//! Every projector therefore watches the whole topic, not only its own partitions: a
//! partition whose stored checkpoint (PostgreSQL, the projection's truth) is behind the
//! log's end and has not moved for `after` is stalled. The projector then warns and rejoins
//! its group, which makes the group assign every partition again. This module is the pure
//! part: given what was read at an instant, which partitions are stalled.
//!
//! It reads a monotonic clock, not the wall clock, and decides nothing about the read models:
//! it only triggers a rejoin, after which the checkpoints decide what is applied, as always.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// A partition with records past its checkpoint that has not moved for a while.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stall {
    pub partition: i32,
    /// Stored checkpoint (next offset to apply).
    pub checkpoint: i64,
    /// End of the log (high watermark).
    pub end: i64,
    /// How long the checkpoint has not moved while records waited.
    pub stalled_for: Duration,
}

/// Per partition: the checkpoint last seen and since when it has been behind and unchanged.
#[derive(Debug)]
pub struct StallWatch {
    after: Duration,
    seen: BTreeMap<i32, (i64, Instant)>,
}

impl StallWatch {
    /// A partition counts as stalled once its checkpoint has stood still behind the log's end
    /// for `after`.
    pub fn new(after: Duration) -> Self {
        Self {
            after,
            seen: BTreeMap::new(),
        }
    }

    /// Records what was read at `now` (checkpoints absent from `checkpoints` are 0) and
    /// returns the partitions stalled, in partition order.
    pub fn observe(
        &mut self,
        now: Instant,
        checkpoints: &BTreeMap<i32, i64>,
        ends: &BTreeMap<i32, i64>,
    ) -> Vec<Stall> {
        self.seen.retain(|p, _| ends.contains_key(p));
        let mut stalled = Vec::new();
        for (&partition, &end) in ends {
            let checkpoint = checkpoints.get(&partition).copied().unwrap_or(0);
            if checkpoint >= end {
                self.seen.remove(&partition);
                continue;
            }
            let since = match self.seen.get(&partition) {
                Some(&(seen, since)) if seen == checkpoint => since,
                _ => {
                    self.seen.insert(partition, (checkpoint, now));
                    now
                }
            };
            let stalled_for = now.saturating_duration_since(since);
            if stalled_for >= self.after {
                stalled.push(Stall {
                    partition,
                    checkpoint,
                    end,
                    stalled_for,
                });
            }
        }
        stalled
    }

    /// Starts every clock again: after a rejoin (the group needs time to assign), or when the
    /// checkpoints could not be read (an outage is not a stall of the group).
    pub fn reset(&mut self) {
        self.seen.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AFTER: Duration = Duration::from_secs(60);

    fn map(pairs: &[(i32, i64)]) -> BTreeMap<i32, i64> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn a_partition_behind_and_unmoved_for_the_allowance_is_stalled() {
        let t0 = Instant::now();
        let mut w = StallWatch::new(AFTER);
        let ends = map(&[(0, 100), (1, 100)]);
        let cps = map(&[(0, 40), (1, 100)]);
        assert!(w.observe(t0, &cps, &ends).is_empty());
        assert!(w.observe(t0 + AFTER / 2, &cps, &ends).is_empty());
        let stalled = w.observe(t0 + AFTER, &cps, &ends);
        assert_eq!(
            stalled,
            vec![Stall {
                partition: 0,
                checkpoint: 40,
                end: 100,
                stalled_for: AFTER
            }]
        );
    }

    #[test]
    fn progress_restarts_the_clock() {
        let t0 = Instant::now();
        let mut w = StallWatch::new(AFTER);
        let ends = map(&[(0, 1000)]);
        assert!(w.observe(t0, &map(&[(0, 10)]), &ends).is_empty());
        // Moved by one record just before the allowance ran out: not stalled.
        assert!(w
            .observe(t0 + AFTER - Duration::from_secs(1), &map(&[(0, 11)]), &ends)
            .is_empty());
        assert!(w.observe(t0 + AFTER, &map(&[(0, 11)]), &ends).is_empty());
        assert_eq!(w.observe(t0 + 2 * AFTER, &map(&[(0, 11)]), &ends).len(), 1);
    }

    #[test]
    fn a_partition_never_applied_counts_from_zero_and_one_caught_up_never_stalls() {
        let t0 = Instant::now();
        let mut w = StallWatch::new(AFTER);
        // Partition 2 has no checkpoint row: nothing of it was ever applied.
        let ends = map(&[(0, 5), (1, 0), (2, 7)]);
        let cps = map(&[(0, 5)]);
        w.observe(t0, &cps, &ends);
        let stalled = w.observe(t0 + 2 * AFTER, &cps, &ends);
        assert_eq!(stalled.len(), 1);
        assert_eq!((stalled[0].partition, stalled[0].checkpoint), (2, 0));
        // An idle log (no new records) is not a stall, however long it stays idle.
        let idle = map(&[(0, 5), (1, 0), (2, 7)]);
        assert!(w.observe(t0 + 10 * AFTER, &idle, &ends).is_empty());
    }

    #[test]
    fn reset_forgets_every_clock() {
        let t0 = Instant::now();
        let mut w = StallWatch::new(AFTER);
        let ends = map(&[(0, 100)]);
        let cps = map(&[(0, 1)]);
        w.observe(t0, &cps, &ends);
        w.reset();
        assert!(w.observe(t0 + AFTER, &cps, &ends).is_empty());
        assert_eq!(w.observe(t0 + 2 * AFTER, &cps, &ends).len(), 1);
    }
}
