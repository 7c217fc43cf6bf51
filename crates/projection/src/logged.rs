//! An event with its place in the log.

use leadledger_domain::Event;

/// An event with its place in the log (for a stored event: where its first copy was read).
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    pub partition: i32,
    pub offset: i64,
    pub event: Event,
}

/// The events of `new` that `keep` selects, in log order (`(partition, offset)`): the order
/// in which intents are decided, whatever order the batch was read in.
pub(crate) fn in_log_order<'a>(
    new: &[&'a Logged],
    keep: impl Fn(&leadledger_domain::Payload) -> bool,
) -> Vec<&'a Logged> {
    let mut out: Vec<&Logged> = new
        .iter()
        .copied()
        .filter(|r| keep(&r.event.payload))
        .collect();
    out.sort_by_key(|r| (r.partition, r.offset));
    out
}
