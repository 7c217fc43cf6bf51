//! Lifecycle stages and the kinds of moves between them.

use serde::{Deserialize, Serialize};

/// A lifecycle stage. The main line is captured → MQL → SQL → POC → signed; the others are
/// side exits. Numbers equal the proto `Stage` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Stage {
    Captured = 1,
    Mql = 2,
    Sql = 3,
    Poc = 4,
    Signed = 5,
    Rejected = 6,
    Recycled = 7,
    Disqualified = 8,
    Lost = 9,
}

impl Stage {
    /// The main line in order.
    pub const MAIN_LINE: [Stage; 5] = [
        Stage::Captured,
        Stage::Mql,
        Stage::Sql,
        Stage::Poc,
        Stage::Signed,
    ];

    /// Every stage.
    pub const ALL: [Stage; 9] = [
        Stage::Captured,
        Stage::Mql,
        Stage::Sql,
        Stage::Poc,
        Stage::Signed,
        Stage::Rejected,
        Stage::Recycled,
        Stage::Disqualified,
        Stage::Lost,
    ];

    /// Position on the main line (1..=5), `None` for side exits.
    pub fn rank(self) -> Option<u8> {
        match self {
            Stage::Captured => Some(1),
            Stage::Mql => Some(2),
            Stage::Sql => Some(3),
            Stage::Poc => Some(4),
            Stage::Signed => Some(5),
            _ => None,
        }
    }

    pub fn is_exit(self) -> bool {
        self.rank().is_none()
    }

    /// The proto enum number.
    pub fn number(self) -> i32 {
        self as i32
    }

    pub fn from_number(n: i32) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.number() == n)
    }

    /// The name stored in read models (`leads.stage`, `stage_transitions`).
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Captured => "captured",
            Stage::Mql => "mql",
            Stage::Sql => "sql",
            Stage::Poc => "poc",
            Stage::Signed => "signed",
            Stage::Rejected => "rejected",
            Stage::Recycled => "recycled",
            Stage::Disqualified => "disqualified",
            Stage::Lost => "lost",
        }
    }

    pub fn parse(s: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// What kind of move a stage transition is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TransitionKind {
    /// The next main-line stage.
    Forward = 1,
    /// Forward past stages that never happened.
    Skip = 2,
    /// Back to an earlier main-line stage with no side exit in between.
    Regression = 3,
    /// Into rejected, recycled, disqualified or lost.
    Exit = 4,
    /// Back into the main line after a side exit.
    Reentry = 5,
}

impl TransitionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TransitionKind::Forward => "forward",
            TransitionKind::Skip => "skip",
            TransitionKind::Regression => "regression",
            TransitionKind::Exit => "exit",
            TransitionKind::Reentry => "reentry",
        }
    }

    pub fn parse(s: &str) -> Option<TransitionKind> {
        [
            TransitionKind::Forward,
            TransitionKind::Skip,
            TransitionKind::Regression,
            TransitionKind::Exit,
            TransitionKind::Reentry,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// Classifies a move from `from` (None: the lead's first stage) to `to`, and lists the
    /// main-line stages jumped over.
    pub fn classify(from: Option<Stage>, to: Stage) -> (TransitionKind, Vec<Stage>) {
        let Some(to_rank) = to.rank() else {
            return (TransitionKind::Exit, Vec::new());
        };
        match from {
            Some(f) if f.is_exit() => (TransitionKind::Reentry, Vec::new()),
            _ => {
                // A first stage counts as a move from "before captured" (rank 0).
                let from_rank = from.and_then(Stage::rank).unwrap_or(0);
                if to_rank == from_rank + 1 {
                    (TransitionKind::Forward, Vec::new())
                } else if to_rank > from_rank {
                    let skipped = Stage::MAIN_LINE
                        .into_iter()
                        .filter(|s| {
                            let r = s.rank().unwrap_or(0);
                            r > from_rank && r < to_rank
                        })
                        .collect();
                    (TransitionKind::Skip, skipped)
                } else {
                    (TransitionKind::Regression, Vec::new())
                }
            }
        }
    }
}
