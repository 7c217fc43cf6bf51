//! Anonymous visitors: touches before a person is known, and the link that says who they are.
//!
//! Marketing sees a visitor (a cookie, a device) long before the form fill that makes them a
//! lead, and first-touch attribution is about exactly those visits. A visitor's facts are
//! filed under its own key, [`key`] (`~visitor/` and its id), so they sit on one partition
//! in the order they were told; an [`IdentityLinked`] fact, filed under the same key, says
//! which lead the visitor is. From then on every read model folds the visitor's touches —
//! before and after the link — into that lead's timeline (its group's, when the lead is
//! merged), as if they had been told under the lead; a visitor never linked is no lead and
//! has no row anywhere but its timeline.
//!
//! A visitor is one person: the first link of a visitor in the log holds, and a later link to
//! another lead is refused ([`decide`]). All links of a visitor share its partition, so
//! the decision depends on log order alone and a replay decides the same.

use serde::{Deserialize, Serialize};

/// The key prefix of a visitor's facts (log key and `lead_id`).
pub const PREFIX: &str = "~visitor/";

/// The key (log key and `lead_id`) of the visitor `visitor_id`'s facts.
pub fn key(visitor_id: &str) -> String {
    format!("{PREFIX}{visitor_id}")
}

/// The visitor id of a visitor key, `None` for any other id.
pub fn of(key: &str) -> Option<&str> {
    key.strip_prefix(PREFIX)
}

/// Whether `id` is a visitor's key (no lead's).
pub fn is_visitor(id: &str) -> bool {
    id.starts_with(PREFIX)
}

/// The visitor the fact's key names is the lead `lead`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityLinked {
    pub lead: String,
}

/// What a link fact does, given the visitor's link before it (`linked`: the lead, if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The visitor is now the lead's.
    Linked,
    /// It already was (the same link told again, from another source fact): nothing moves.
    Already,
    /// It is another lead's: the link is refused, with why.
    Refused(String),
}

/// Decides a link of a visitor to `lead` against its link before it.
pub fn decide(visitor_id: &str, linked: Option<&str>, lead: &str) -> Decision {
    match linked {
        None => Decision::Linked,
        Some(l) if l == lead => Decision::Already,
        Some(l) => Decision::Refused(format!(
            "visitor {visitor_id} is linked to lead {l} already: a visitor is one person (if \
             {l} and {lead} are one person too, merge them with MergeLeads)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_their_visitor_and_no_lead() {
        let k = key("ck-9f2");
        assert_eq!(k, "~visitor/ck-9f2");
        assert_eq!(of(&k), Some("ck-9f2"));
        assert!(is_visitor(&k));
        assert_eq!(of("L-1"), None);
        assert!(!is_visitor("~spend/sem/"));
    }

    #[test]
    fn the_first_link_holds() {
        assert_eq!(decide("v", None, "L-1"), Decision::Linked);
        assert_eq!(decide("v", Some("L-1"), "L-1"), Decision::Already);
        let Decision::Refused(why) = decide("v", Some("L-1"), "L-2") else {
            panic!("a second lead was linked");
        };
        assert!(why.contains("linked to lead L-1"), "{why}");
    }
}
