//! A cut of the log: what the ledger knew, and about when.
//!
//! Every event carries two times: `occurred_at` (business time, when it happened at the
//! source) and `recorded_at` (record time, when ingest accepted it). A [`Cut`] keeps the
//! events that had happened by `as_of` and had been recorded by `known_at`; folding each
//! lead's admitted events gives the state the read models would hold had the log held only
//! those events (the fold orders by business time, so which events is all that matters).
//! Ownership requests keep the decision the projector made for them in log order: a
//! decision, once made, is a fact of the ledger, not re-decided by a later question.

use chrono::{DateTime, Utc};

use crate::Event;

/// `as_of`: business time; `known_at`: record time. `None` leaves that side open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cut {
    pub as_of: Option<DateTime<Utc>>,
    pub known_at: Option<DateTime<Utc>>,
}

impl Cut {
    /// No cut: every event, the live read models.
    pub const LIVE: Cut = Cut {
        as_of: None,
        known_at: None,
    };

    /// Whether the cut keeps every event (then the read models answer as they are).
    pub fn is_live(&self) -> bool {
        self.as_of.is_none() && self.known_at.is_none()
    }

    /// Whether `e` had happened by `as_of` and been recorded by `known_at` (both inclusive).
    pub fn admits(&self, e: &Event) -> bool {
        self.as_of.is_none_or(|t| e.occurred_at <= t)
            && self.known_at.is_none_or(|t| e.recorded_at <= t)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::event::{Payload, SourceRef};

    fn ev(occurred: i64, recorded: i64) -> Event {
        Event {
            event_id: uuid::Uuid::nil(),
            tenant_id: "t".into(),
            lead_id: "l".into(),
            occurred_at: Utc.timestamp_opt(occurred, 0).unwrap(),
            recorded_at: Utc.timestamp_opt(recorded, 0).unwrap(),
            source: SourceRef::default(),
            schema_version: 1,
            payload: Payload::Unknown {
                event_type: "x".into(),
            },
        }
    }

    #[test]
    fn both_bounds_are_inclusive_and_independent() {
        let t = |s| Some(Utc.timestamp_opt(s, 0).unwrap());
        let cut = Cut {
            as_of: t(10),
            known_at: t(20),
        };
        assert!(cut.admits(&ev(10, 20)));
        assert!(!cut.admits(&ev(11, 5)));
        assert!(!cut.admits(&ev(5, 21)));
        assert!(Cut::LIVE.admits(&ev(i64::from(i32::MAX), 0)));
        assert!(Cut::LIVE.is_live() && !cut.is_live());
        let only_known = Cut {
            as_of: None,
            known_at: t(20),
        };
        assert!(only_known.admits(&ev(1_000, 20)) && !only_known.admits(&ev(0, 21)));
    }
}
