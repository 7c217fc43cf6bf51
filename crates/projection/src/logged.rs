//! An event with its place in the log.

use leadledger_domain::Event;

/// An event with its place in the log (for a stored event: where its first copy was read).
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    pub partition: i32,
    pub offset: i64,
    pub event: Event,
}
