//! Why a lead left the main line: the reason codes of its exits (rejected, recycled,
//! disqualified, lost) as read models and queries name them.
//!
//! Each exit kind has its own code list, numbered as its proto enum (`RejectReason`,
//! `RecycleReason`, `DisqualifyReason`, `LossReason` in `events.proto`); the names are those
//! enums' value names without their prefix, in lower case (a test in `leadledger-api` holds
//! the two together). Number 0 is `unspecified`: what every exit recorded before the codes
//! existed maps to, and what a fact carrying only words has.

use serde::{Deserialize, Serialize};

use crate::stage::Stage;

/// `RejectReason` names, by number.
pub const REJECTED: &[&str] = &[
    "unspecified",
    "no_budget",
    "no_need",
    "wrong_contact",
    "unreachable",
    "too_early",
    "not_icp",
    "duplicate",
    "other",
];

/// `RecycleReason` names, by number.
pub const RECYCLED: &[&str] = &[
    "unspecified",
    "rejected_to_nurture",
    "stale",
    "customer_paused",
    "owner_left",
    "no_response",
    "other",
];

/// `DisqualifyReason` names, by number.
pub const DISQUALIFIED: &[&str] = &[
    "unspecified",
    "invalid_contact",
    "not_a_buyer",
    "competitor",
    "duplicate",
    "out_of_scope",
    "spam",
    "other",
];

/// `LossReason` names, by number.
pub const LOST: &[&str] = &[
    "unspecified",
    "price",
    "competitor",
    "no_decision",
    "budget",
    "product_fit",
    "in_house",
    "champion_left",
    "other",
];

/// `PauseReason` names, by number: why a lead's SLA clocks are paused (0 is refused).
pub const PAUSED: &[&str] = &[
    "unspecified",
    "waiting_on_customer",
    "customer_holiday",
    "customer_asked_later",
    "other",
];

/// The code names of exits into `stage`; `None` for a main-line stage.
pub fn codes(stage: Stage) -> Option<&'static [&'static str]> {
    Some(match stage {
        Stage::Rejected => REJECTED,
        Stage::Recycled => RECYCLED,
        Stage::Disqualified => DISQUALIFIED,
        Stage::Lost => LOST,
        _ => return None,
    })
}

/// The name of code `number` of exits into `stage`; `None` for a main-line stage or a
/// number its list does not have.
pub fn code_name(stage: Stage, number: i32) -> Option<&'static str> {
    let i = usize::try_from(number).ok()?;
    codes(stage)?.get(i).copied()
}

/// Why, who and how far: what an exit transition carries besides the stage change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exit {
    /// The reason code's name (`unspecified` when the fact gave none).
    pub code: String,
    /// The reason in words, as the fact gave it.
    pub text: String,
    /// The rep the fact names; when it names none, the rep who owned the lead just before.
    pub rep_id: String,
    /// The team that owned the lead just before.
    pub team: String,
    /// The furthest main-line stage the lead had reached before it left (`None`: it never
    /// entered the main line).
    pub reached: Option<Stage>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_exit_stage_has_codes_and_unspecified_is_zero() {
        for s in Stage::ALL {
            assert_eq!(codes(s).is_some(), s.is_exit(), "{s:?}");
            if let Some(c) = codes(s) {
                assert_eq!(c[0], "unspecified");
                assert_eq!(c[c.len() - 1], "other");
            }
        }
        assert_eq!(code_name(Stage::Lost, 1), Some("price"));
        assert_eq!(code_name(Stage::Lost, 9), None);
        assert_eq!(code_name(Stage::Lost, -1), None);
        assert_eq!(code_name(Stage::Sql, 0), None);
    }
}
