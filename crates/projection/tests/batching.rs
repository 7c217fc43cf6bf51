//! Replay is a feature: whatever batches the log arrives in — any split, the partitions
//! interleaved in any order, records repeated at later offsets (client retries, CRM
//! redeliveries) — the rows a projector ends with are those of one projection of the whole
//! log. A small in-memory "database" applies each batch's rows as the store does (timeline
//! rows keyed by event id, decisions by intent id, each re-folded lead's rows replaced,
//! funnel cells moved by their deltas and dropped when empty). Anonymous visitors' touches
//! and their links to leads are among the facts: a visitor's group is read as the store's
//! `identity_groups.sql` reads it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Duration, TimeZone, Utc};
use leadledger_domain::event::{
    Company, Contact, LeadCaptured, LeadSource, Owner, OwnershipMode, OwnershipRequest, Segment,
    SourceRef,
};
use leadledger_domain::identity::visitor;
use leadledger_domain::{fold_with, Event, Payload, SCHEMA_VERSION};
use leadledger_projection::identity::{decide_links, LeadKey};
use leadledger_projection::{asks_for_owner, project, Batch, Derivations, Logged, Regroup};
use proptest::prelude::*;
use uuid::Uuid;

const PARTITIONS: i32 = 3;

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap() + Duration::minutes(minutes)
}

fn payload(kind: u8, lead: usize) -> Payload {
    let rep = format!("rep-{}", kind % 3);
    match kind {
        0 | 1 => Payload::LeadCaptured(LeadCaptured {
            contact: Contact {
                email: format!("buyer{lead}@example.com"),
                ..Contact::default()
            },
            company: Company {
                name: format!("Company {lead}"),
                domain: format!("c{lead}.example.com"),
                region: ["east", "north"][lead % 2].into(),
                industry: "retail".into(),
                segment: Segment::Ka,
                employees: 300,
                // Every third lead in one CRM account, whatever its domain.
                account_id: if lead.is_multiple_of(3) {
                    "crm-1".into()
                } else {
                    String::new()
                },
            },
            source: LeadSource {
                channel: ["search", "webinar", "partner"][usize::from(kind) % 3].into(),
                campaign: "spring".into(),
                ..LeadSource::default()
            },
            sealed: None,
        }),
        2 => Payload::MqlQualified {
            score: 70,
            reason: "pricing page".into(),
        },
        3 => Payload::HandedOff(Owner {
            team: "east-ka".into(),
            queue: "east".into(),
            rep_id: rep,
            partner_id: String::new(),
        }),
        4 => Payload::SalesAccepted { rep_id: rep },
        5 => Payload::FollowUpLogged {
            activity_type: 1,
            rep_id: rep,
            note: "called".into(),
        },
        6 => Payload::PocStarted {
            owner_id: "se-1".into(),
            use_case: "forecasting".into(),
        },
        7 => Payload::Signed {
            amount_minor: 1_000_000 + i64::from(kind),
            currency: "CNY".into(),
            contract_id: format!("C-{lead}"),
        },
        8 => Payload::Lost {
            reason: "budget".into(),
            competitor: String::new(),
            code: 4,
            rep_id: String::new(),
        },
        9 | 10 => Payload::OwnershipRequested(OwnershipRequest {
            mode: if kind.is_multiple_of(2) {
                OwnershipMode::Claim
            } else {
                OwnershipMode::Assign
            },
            rep_id: rep,
            team: "east-ka".into(),
            requested_by: "manager-1".into(),
            expected_rep_id: String::new(),
            account_ruling: String::new(),
        }),
        12 => Payload::SpendRecorded(leadledger_domain::spend::Spend {
            channel: ["sem", "seo"][lead % 2].into(),
            campaign: String::new(),
            period_start: chrono::NaiveDate::from_ymd_opt(2026, 4 + (lead % 3) as u32, 1).unwrap(),
            period_end: chrono::NaiveDate::from_ymd_opt(2026, 4 + (lead % 3) as u32, 28).unwrap(),
            amount_minor: 1_000 * (lead as i64 + 1),
            currency: "CNY".into(),
        }),
        11 => Payload::PaymentCollected {
            amount_minor: 300_000 + i64::from(kind),
            currency: if lead % 4 == 3 { "USD" } else { "CNY" }.into(),
            payment_id: String::new(),
            contract_id: String::new(),
        },
        14 | 15 => Payload::TouchRecorded(leadledger_domain::event::TouchRecorded {
            channel: ["sem", "social"][lead % 2].into(),
            campaign: "spring".into(),
            ..Default::default()
        }),
        13 => Payload::Recycled {
            reason: "no answer".into(),
            code: 5,
            rep_id: String::new(),
        },
        16 => Payload::ContactRoleAssigned(leadledger_domain::account::RoleAssigned {
            role: 1 + (lead % 6) as i32,
            primary: lead.is_multiple_of(2),
            rep_id: rep,
        }),
        _ => unreachable!("kinds are 0..17"),
    }
}

/// A log: `(lead, kind, minutes)` facts appended in order, each lead to its partition; some
/// facts are appended again later (a retry: same event id, a later offset).
fn log_of(facts: &[(usize, u8, i64)], retries: &[usize]) -> Vec<Logged> {
    let mut next = [0i64; PARTITIONS as usize];
    let mut log = Vec::new();
    let mut append = |event: Event, log: &mut Vec<Logged>| {
        let partition =
            (event.lead_id.len() as i32 + event.lead_id.as_bytes()[5] as i32) % PARTITIONS;
        let offset = next[partition as usize];
        next[partition as usize] += 1;
        log.push(Logged {
            partition,
            offset,
            event,
        });
    };
    for (n, (lead, kind, minutes)) in facts.iter().enumerate() {
        let event = Event {
            event_id: Uuid::from_u128(n as u128 + 1),
            tenant_id: "acme".into(),
            lead_id: format!("lead-{lead}"),
            occurred_at: at(*minutes),
            recorded_at: at(*minutes),
            source: SourceRef {
                system: "crm".into(),
                event_id: format!("crm-{n}"),
            },
            schema_version: SCHEMA_VERSION,
            payload: payload(*kind, *lead),
        };
        // Spend is filed under its own key.
        let mut event = event;
        if let Payload::SpendRecorded(s) = &event.payload {
            event.lead_id = leadledger_domain::spend::key(&s.channel, &s.campaign);
        }
        // An anonymous visitor's touch, or its link to the fact's lead, under its key.
        if *kind >= 14 {
            event.lead_id = visitor::key(&format!("v{}", lead % 3));
            if *kind == 15 {
                event.payload = Payload::IdentityLinked(visitor::IdentityLinked {
                    lead: format!("lead-{lead}"),
                });
            }
        }
        append(event, &mut log);
    }
    for r in retries {
        if let Some(again) = log.get(r % log.len().max(1)).map(|l| l.event.clone()) {
            append(again, &mut log);
        }
    }
    log
}

/// The read models, as the store keeps them.
#[derive(Debug, Default, PartialEq)]
struct Db {
    events: BTreeMap<Uuid, Logged>,
    decisions: BTreeMap<Uuid, String>,
    leads: BTreeMap<(String, String), String>,
    stages: BTreeMap<(String, String), String>,
    clocks: BTreeMap<(String, String), Vec<String>>,
    cells: [BTreeMap<String, [i64; 7]>; 3],
    /// The standing spend statement per key: recorded at, event id, amount.
    spend: BTreeMap<String, (chrono::DateTime<chrono::Utc>, Uuid, i64)>,
    /// Linked visitor → its lead (`visitor_links`), and the link decisions.
    links: BTreeMap<(String, String), String>,
    identity: BTreeMap<Uuid, String>,
}

impl Db {
    /// Every live link of the groups of `ids` (leads or visitors), as `identity_groups.sql`
    /// reads them (no merges here): linked visitor → (root, its lead).
    fn groups(&self, ids: &BTreeSet<(String, String)>) -> HashMap<LeadKey, (String, String)> {
        let roots: BTreeSet<(String, String)> = ids
            .iter()
            .map(|k| match self.links.get(k) {
                Some(lead) => (k.0.clone(), lead.clone()),
                None => k.clone(),
            })
            .collect();
        self.links
            .iter()
            .filter(|((t, _), lead)| roots.contains(&(t.clone(), (*lead).clone())))
            .map(|(v, lead)| (v.clone(), (lead.clone(), lead.clone())))
            .collect()
    }
}

impl Db {
    fn apply(&mut self, records: &[Logged], d: &Derivations) {
        let mut seen = HashSet::new();
        let new: Vec<&Logged> = records
            .iter()
            .filter(|r| {
                !self.events.contains_key(&r.event.event_id) && seen.insert(r.event.event_id)
            })
            .collect();
        if new.is_empty() {
            return;
        }
        // Links decided in log order against the stored ones, then the groups of every lead
        // and visitor touched (the store's `ProjectionTx::identity`).
        let mut links: HashMap<LeadKey, String> = self.links.clone().into_iter().collect();
        let decided = decide_links(&new, &mut links);
        let mut touched: BTreeSet<(String, String)> = new
            .iter()
            .map(|r| (r.event.tenant_id.clone(), r.event.lead_id.clone()))
            .collect();
        for row in &decided {
            self.identity
                .entry(row.intent_id)
                .or_insert(format!("{row:?}"));
            for (v, _, lead) in &row.moves {
                self.links.insert(
                    (row.tenant.clone(), v.clone()),
                    lead.clone().expect("a link"),
                );
                touched.insert((row.tenant.clone(), v.clone()));
                touched.extend(lead.iter().map(|l| (row.tenant.clone(), l.clone())));
            }
        }
        let groups = self.groups(&touched);
        for (v, (root, _)) in &groups {
            touched.insert(v.clone());
            touched.insert((v.0.clone(), root.clone()));
        }
        let stored: Vec<Logged> = self
            .events
            .values()
            .filter(|r| touched.contains(&(r.event.tenant_id.clone(), r.event.lead_id.clone())))
            .cloned()
            .collect();
        let regroup = Regroup::new(
            groups
                .iter()
                .map(|(k, (root, _))| (k.clone(), root.clone()))
                .collect(),
            groups
                .iter()
                .map(|(k, (_, lead))| (k.clone(), lead.clone()))
                .collect(),
            &decided,
        );
        let granted = if asks_for_owner(stored.iter().chain(new.iter().copied())) {
            self.decisions
                .iter()
                .filter(|(_, row)| row.contains("granted: true"))
                .map(|(id, _)| *id)
                .collect()
        } else {
            HashSet::new()
        };
        let rows = project(
            Batch {
                new: &new,
                stored,
                granted,
                regroup,
            },
            d,
        );
        for r in &new {
            self.events.insert(r.event.event_id, (*r).clone());
        }
        for dec in &rows.decisions {
            self.decisions
                .entry(dec.intent_id)
                .or_insert(format!("{dec:?}"));
        }
        for (level, deltas) in rows.funnel().iter().enumerate() {
            for (key, delta) in deltas {
                let cell = self.cells[level].entry(format!("{key:?}")).or_default();
                for (c, x) in cell.iter_mut().zip(delta) {
                    *c += x;
                }
                if cell[0] == 0 {
                    self.cells[level].remove(&format!("{key:?}"));
                }
            }
        }
        for key in &rows.removed {
            self.leads.remove(key);
            self.clocks.remove(key);
        }
        for l in &rows.leads {
            let key = (l.tenant.clone(), l.lead.clone());
            self.leads
                .insert(key.clone(), format!("{:?} {:?}", l.state, l.feedback));
            self.clocks.insert(key, Vec::new());
        }
        for (t, l, c) in &rows.clocks {
            self.clocks
                .entry((t.clone(), l.clone()))
                .or_default()
                .push(format!("{c:?}"));
        }
        for s in &rows.spend {
            let key = format!(
                "{} {} {} {} {}",
                s.tenant,
                s.spend.channel,
                s.spend.campaign,
                s.spend.period_start,
                s.spend.period_end
            );
            let new = (s.recorded_at, s.event_id, s.spend.amount_minor);
            let stored = self.spend.entry(key).or_insert(new);
            if (new.0, new.1) > (stored.0, stored.1) {
                *stored = new;
            }
        }
        for s in &rows.stages {
            let key = (s.tenant.clone(), s.lead.clone());
            // As the store: a lead's stage rows replaced, none left when it has none.
            if s.visits.is_empty() && s.transitions.is_empty() {
                self.stages.remove(&key);
            } else {
                self.stages
                    .insert(key, format!("{:?} {:?}", s.visits, s.transitions));
            }
        }
    }
}

/// The order a consumer may see `log` in: each partition in offset order, the partitions
/// interleaved as `picks` says.
fn delivery(log: &[Logged], picks: &[u8]) -> Vec<Logged> {
    let mut queues: Vec<Vec<&Logged>> = (0..PARTITIONS)
        .map(|p| log.iter().filter(|r| r.partition == p).rev().collect())
        .collect();
    let mut out = Vec::with_capacity(log.len());
    let mut i = 0;
    while out.len() < log.len() {
        let pick = picks.get(i).copied().unwrap_or(0) as usize;
        i += 1;
        let q = (0..PARTITIONS as usize)
            .map(|k| (pick + k) % PARTITIONS as usize)
            .find(|k| !queues[*k].is_empty())
            .expect("records left");
        out.push(queues[q].pop().expect("not empty").clone());
    }
    out
}

fn facts() -> impl Strategy<Value = Vec<(usize, u8, i64)>> {
    prop::collection::vec((0usize..6, 0u8..17, 0i64..20_000), 1..60)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_batching_gives_the_rows_of_one_projection(
        facts in facts(),
        retries in prop::collection::vec(0usize..100, 0..10),
        picks in prop::collection::vec(0u8..3, 0..80),
        cuts in prop::collection::vec(1usize..12, 1..20),
    ) {
        let d = Derivations::default();
        let log = log_of(&facts, &retries);
        let mut whole = Db::default();
        whole.apply(&log, &d);

        let delivered = delivery(&log, &picks);
        let mut batched = Db::default();
        let mut rest = delivered.as_slice();
        let mut cut = cuts.iter().cycle();
        while !rest.is_empty() {
            let n = (*cut.next().expect("cycle")).min(rest.len());
            batched.apply(&rest[..n], &d);
            rest = &rest[n..];
        }
        prop_assert_eq!(&batched, &whole);

        // And the leads are the fold of their whole timelines with the granted requests.
        let granted: HashSet<Uuid> = whole
            .decisions
            .iter()
            .filter(|(_, row)| row.contains("granted: true"))
            .map(|(id, _)| *id)
            .collect();
        for ((t, lead), row) in &whole.leads {
            prop_assert!(!visitor::is_visitor(lead), "a visitor has a lead row: {lead}");
            // Its own facts and its linked visitors' (their links are no facts of it).
            let ours = |e: &Event| {
                &e.lead_id == lead
                    || whole.links.get(&(t.clone(), e.lead_id.clone())) == Some(lead)
            };
            let events: Vec<Event> = whole
                .events
                .values()
                .map(|r| &r.event)
                .filter(|e| ours(e) && !e.payload.is_link())
                .map(|e| Event { lead_id: lead.clone(), ..e.clone() })
                .collect();
            let st = fold_with(&events, &granted);
            prop_assert!(row.starts_with(&format!("{st:?}")), "lead {lead}");
        }
    }
}
