//! Who is simulated: what every lead of the quarter shares, and one lead.

use chrono::{DateTime, Utc};

use crate::channels::Channel;
use crate::config::SimConfig;
use crate::population::{Account, Staff};

/// What every lead shares.
pub(crate) struct Ctx<'a> {
    pub cfg: &'a SimConfig,
    pub quarter: String,
    pub staff: Staff,
}

impl Ctx<'_> {
    /// A campaign name, e.g. `2026q2-webinar-ai`.
    pub(crate) fn campaign(&self, ch: &Channel, topic: &str) -> String {
        format!("{}-{}-{topic}", self.quarter, ch.campaign_prefix)
    }
}

/// One lead to simulate.
pub(crate) struct Lead<'a> {
    pub index: usize,
    pub captured_at: DateTime<Utc>,
    pub channel: &'static Channel,
    pub account: &'a Account,
}
