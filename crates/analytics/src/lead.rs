//! A lead as the measures read it: its group key, capture time, current owner and every stay.

use chrono::{DateTime, Utc};
use leadledger_domain::Stage;

/// Who owns a lead now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Owner {
    pub rep_id: String,
    pub team: String,
    pub queue: String,
    pub partner_id: String,
}

/// One stay of a lead in a stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stay {
    pub stage: Stage,
    pub entered_at: DateTime<Utc>,
    /// `None` while the lead is still there.
    pub exited_at: Option<DateTime<Utc>>,
}

/// A lead with its group key, capture time, owner and every stay, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadStays {
    pub lead_id: String,
    pub key: Vec<String>,
    /// `None` until a capture arrives.
    pub captured_at: Option<DateTime<Utc>>,
    pub owner: Owner,
    pub stays: Vec<Stay>,
}

impl LeadStays {
    /// When the lead first reached `stage` or a later main-line stage (a skip reaches the
    /// stages it jumps over); `None` if it never did or `stage` is a side stage.
    pub fn first_reached(&self, stage: Stage) -> Option<DateTime<Utc>> {
        let rank = stage.rank()?;
        self.stays
            .iter()
            .filter(|s| s.stage.rank().is_some_and(|r| r >= rank))
            .map(|s| s.entered_at)
            .min()
    }
}
