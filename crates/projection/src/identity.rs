//! The batch's identity intents (`MergeLeads` / `UnmergeLead`), decided in log order, and
//! the regrouping of timelines they cause.
//!
//! All of a tenant's identity intents share one partition (lead id
//! [`leadledger_domain::identity::KEY`]), so deciding each against the merges decided before
//! it ([`Merges`]) depends on log order alone. What a decision changes is which timeline a
//! lead's facts belong to: [`Regroup`] maps every merged lead to its survivor (its root), and
//! remembers, for the leads the batch moved, the root they had before, so the projection can
//! take the old groups' rows out of the funnel and put the new ones in.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use leadledger_domain::identity::visitor::{self, Decision};
use leadledger_domain::identity::{Merges, Moves};
use leadledger_domain::Payload;
use uuid::Uuid;

use crate::logged::in_log_order;
use crate::Logged;

/// One row of `identity_decisions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityRow {
    pub intent_id: Uuid,
    pub tenant: String,
    pub partition: i32,
    pub offset: i64,
    /// `merge` or `unmerge`.
    pub kind: &'static str,
    /// The survivor (for an unmerge: the one the lead was merged into, when granted).
    pub survivor: String,
    pub leads: Vec<String>,
    pub requested_by: String,
    pub why: String,
    pub requested_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub granted: bool,
    pub refusal: String,
    /// The leads whose survivor the decision changed (empty when refused).
    pub moves: Moves,
}

/// Decides the identity intents among `new` in `(partition, offset)` order against `merges`
/// (per tenant, the live merges as stored; granted decisions are applied to it).
pub fn decide(new: &[&Logged], merges: &mut HashMap<String, Merges>) -> Vec<IdentityRow> {
    let intents = in_log_order(new, Payload::is_identity);
    let mut rows = Vec::with_capacity(intents.len());
    for r in intents {
        let e = &r.event;
        let m = merges.entry(e.tenant_id.clone()).or_default();
        let (kind, survivor, leads, requested_by, why, decided) = match &e.payload {
            Payload::MergeRequested(q) => (
                "merge",
                q.survivor.clone(),
                q.merged.clone(),
                &q.requested_by,
                &q.reason,
                m.merge(q),
            ),
            Payload::UnmergeRequested(q) => (
                "unmerge",
                m.survivor_of(&q.lead).unwrap_or_default().to_string(),
                vec![q.lead.clone()],
                &q.requested_by,
                &q.reason,
                m.unmerge(q),
            ),
            _ => continue,
        };
        let (granted, refusal, moves) = match decided {
            Ok(moves) => (true, String::new(), moves),
            Err(why) => (false, why, Vec::new()),
        };
        rows.push(IdentityRow {
            intent_id: e.event_id,
            tenant: e.tenant_id.clone(),
            partition: r.partition,
            offset: r.offset,
            kind,
            survivor,
            leads,
            requested_by: requested_by.clone(),
            why: why.clone(),
            requested_at: e.occurred_at,
            recorded_at: e.recorded_at,
            granted,
            refusal,
            moves,
        });
    }
    rows
}

/// Decides the visitors' links among `new` in `(partition, offset)` order against `links`
/// (`(tenant, visitor key)` → lead: the stored links of the visitors, granted ones added).
/// A visitor's links all sit on its partition, so log order decides (the first holds).
pub fn decide_links(new: &[&Logged], links: &mut HashMap<LeadKey, String>) -> Vec<IdentityRow> {
    let facts = in_log_order(new, Payload::is_link);
    let mut rows = Vec::with_capacity(facts.len());
    for r in facts {
        let e = &r.event;
        let Payload::IdentityLinked(l) = &e.payload else {
            continue;
        };
        let k = (e.tenant_id.clone(), e.lead_id.clone());
        let id = visitor::of(&e.lead_id).unwrap_or(&e.lead_id);
        let (granted, refusal, moves) =
            match visitor::decide(id, links.get(&k).map(String::as_str), &l.lead) {
                Decision::Linked => {
                    links.insert(k, l.lead.clone());
                    let moved = (e.lead_id.clone(), None, Some(l.lead.clone()));
                    (true, String::new(), vec![moved])
                }
                Decision::Already => (true, String::new(), Vec::new()),
                Decision::Refused(why) => (false, why, Vec::new()),
            };
        rows.push(IdentityRow {
            intent_id: e.event_id,
            tenant: e.tenant_id.clone(),
            partition: r.partition,
            offset: r.offset,
            kind: "link",
            survivor: l.lead.clone(),
            leads: vec![e.lead_id.clone()],
            requested_by: e.source.system.clone(),
            why: String::new(),
            requested_at: e.occurred_at,
            recorded_at: e.recorded_at,
            granted,
            refusal,
            moves,
        });
    }
    rows
}

/// `(tenant, lead)`.
pub type LeadKey = (String, String);

/// Which timeline each lead's facts belong to, after the batch and before it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Regroup {
    /// Every live merged lead among those the batch reads, with its survivor (after the
    /// batch's decisions). A lead not here is its own root.
    pub survivor: HashMap<LeadKey, String>,
    /// The leads the batch's decisions moved: their survivor before the batch (`None`: their
    /// own root).
    pub before: HashMap<LeadKey, Option<String>>,
    /// The linked visitors among `survivor`'s keys, with the lead each is linked to (its root
    /// is that lead's, before the batch as after).
    pub via: HashMap<LeadKey, String>,
}

impl Regroup {
    /// The regrouping of `rows` (in log order) over the live merges and links `survivor`
    /// (after them; a linked visitor's lead in `via`).
    pub fn new(
        survivor: HashMap<LeadKey, String>,
        via: HashMap<LeadKey, String>,
        rows: &[IdentityRow],
    ) -> Self {
        let mut before: HashMap<LeadKey, Option<String>> = HashMap::new();
        for r in rows {
            for (lead, was, _) in &r.moves {
                before
                    .entry((r.tenant.clone(), lead.clone()))
                    .or_insert_with(|| was.clone());
            }
        }
        Regroup {
            survivor,
            before,
            via,
        }
    }

    /// The lead whose timeline holds `lead`'s facts after the batch.
    pub fn root<'a>(&'a self, tenant: &str, lead: &'a str) -> &'a str {
        // Most batches touch no merged lead: no key is built for them.
        if self.survivor.is_empty() {
            return lead;
        }
        self.survivor
            .get(&(tenant.to_string(), lead.to_string()))
            .map_or(lead, String::as_str)
    }

    /// The lead whose timeline held `lead`'s facts before the batch.
    pub fn root_before<'a>(&'a self, tenant: &str, lead: &'a str) -> &'a str {
        if self.before.is_empty() {
            return self.root(tenant, lead);
        }
        let k = (tenant.to_string(), lead.to_string());
        match (self.before.get(&k), self.via.get(&k)) {
            (Some(was), _) => was.as_deref().unwrap_or(lead),
            // A visitor linked before the batch was where its lead was.
            (None, Some(l)) => self.root_before(tenant, l),
            (None, None) => self.root(tenant, lead),
        }
    }

    /// The roots whose group the batch changed (before or after): their rows are rebuilt
    /// from the groups as they were and as they are.
    pub fn changed(&self) -> BTreeSet<LeadKey> {
        let mut out = BTreeSet::new();
        for (t, l) in self.before.keys() {
            out.insert((t.clone(), self.root_before(t, l).to_string()));
            out.insert((t.clone(), self.root(t, l).to_string()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leadledger_domain::event::SourceRef;
    use leadledger_domain::identity::{MergeRequest, UnmergeRequest, KEY};
    use leadledger_domain::Event;

    fn intent(offset: i64, payload: Payload) -> Logged {
        let t = DateTime::from_timestamp(1_700_000_000 + offset, 0).unwrap();
        Logged {
            partition: 3,
            offset,
            event: Event {
                event_id: Uuid::from_u128(offset as u128),
                tenant_id: "acme".into(),
                lead_id: KEY.into(),
                occurred_at: t,
                recorded_at: t,
                source: SourceRef::default(),
                schema_version: 1,
                payload,
            },
        }
    }

    fn merge(s: &str, m: &[&str]) -> Payload {
        Payload::MergeRequested(MergeRequest {
            survivor: s.into(),
            merged: m.iter().map(|x| x.to_string()).collect(),
            reason: "dup".into(),
            requested_by: "ops".into(),
        })
    }

    fn unmerge(l: &str) -> Payload {
        Payload::UnmergeRequested(UnmergeRequest {
            lead: l.into(),
            reason: "not dup".into(),
            requested_by: "ops".into(),
        })
    }

    fn link(offset: i64, visitor_id: &str, lead: &str) -> Logged {
        let mut l = intent(
            offset,
            Payload::IdentityLinked(visitor::IdentityLinked { lead: lead.into() }),
        );
        l.event.lead_id = visitor::key(visitor_id);
        l
    }

    #[test]
    fn a_visitors_first_link_holds_and_its_touches_follow_its_lead() {
        let l = [
            link(21, "v1", "b"),
            link(20, "v1", "a"),
            link(22, "v1", "a"),
            link(23, "v2", "a"),
        ];
        let new: Vec<&Logged> = l.iter().collect();
        // v2 was linked to a in an earlier batch.
        let k = |v: &str| ("acme".to_string(), visitor::key(v));
        let mut links = HashMap::from([(k("v2"), "a".to_string())]);
        let rows = decide_links(&new, &mut links);
        let got: Vec<(i64, bool, usize)> = rows
            .iter()
            .map(|r| (r.offset, r.granted, r.moves.len()))
            .collect();
        // v1→a (moves), v1→b refused, v1→a again and v2→a: granted, nothing moves.
        assert_eq!(
            got,
            [(20, true, 1), (21, false, 0), (22, true, 0), (23, true, 0)]
        );
        assert!(
            rows[1].refusal.contains("linked to lead a"),
            "{}",
            rows[1].refusal
        );
        assert_eq!(links[&k("v1")], "a");

        // A merge of a into c in the same batch: v1 (new) was alone before, v2 (linked
        // before) was where a was; both are c's now.
        let merge_rows = decide(
            &[&intent(30, merge("c", &["a"]))],
            &mut HashMap::from([("acme".to_string(), Merges::default())]),
        );
        let all: Vec<IdentityRow> = merge_rows.into_iter().chain(rows).collect();
        let survivor = HashMap::from([
            (("acme".to_string(), "a".to_string()), "c".to_string()),
            (k("v1"), "c".to_string()),
            (k("v2"), "c".to_string()),
        ]);
        let via = HashMap::from([(k("v1"), "a".to_string()), (k("v2"), "a".to_string())]);
        let g = Regroup::new(survivor, via, &all);
        assert_eq!(g.root("acme", &visitor::key("v1")), "c");
        assert_eq!(
            g.root_before("acme", &visitor::key("v1")),
            visitor::key("v1")
        );
        assert_eq!(g.root_before("acme", &visitor::key("v2")), "a");
        let changed: Vec<String> = g.changed().into_iter().map(|(_, l)| l).collect();
        assert_eq!(changed, ["a", "c", &visitor::key("v1")]);
    }

    #[test]
    fn intents_are_decided_in_log_order_and_regroup_the_moved_leads() {
        // Read out of order: decided by offset (merge b, merge c, unmerge b, merge b into c).
        let l = [
            intent(12, unmerge("b")),
            intent(10, merge("a", &["b"])),
            intent(13, merge("c", &["b"])),
            intent(11, merge("a", &["c"])),
        ];
        let new: Vec<&Logged> = l.iter().collect();
        let mut merges = HashMap::new();
        let rows = decide(&new, &mut merges);
        let got: Vec<(i64, bool)> = rows.iter().map(|r| (r.offset, r.granted)).collect();
        // The last is refused: c is merged into a by then.
        assert_eq!(got, [(10, true), (11, true), (12, true), (13, false)]);
        assert_eq!(rows[2].survivor, "a");
        assert!(
            rows[3].refusal.contains("merged into a"),
            "{}",
            rows[3].refusal
        );
        let live = &merges["acme"];
        assert_eq!(live.root("b"), "b");
        assert_eq!(live.root("c"), "a");

        let survivor = HashMap::from([(("acme".to_string(), "c".to_string()), "a".to_string())]);
        let g = Regroup::new(survivor, HashMap::new(), &rows);
        assert_eq!(g.root_before("acme", "b"), "b");
        assert_eq!(g.root_before("acme", "c"), "c");
        assert_eq!(g.root("acme", "c"), "a");
        let changed: Vec<String> = g.changed().into_iter().map(|(_, l)| l).collect();
        assert_eq!(changed, ["a", "b", "c"]);
    }
}
