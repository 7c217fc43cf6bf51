//! `Reasons` end to end (issue 17 item 3): a simulated quarter (with its reason mixes)
//! through ingest, then every count, share and listed exit compared with an independent
//! replay of each lead's timeline as `GetLead` returns it: the stage each fact moves the
//! lead into, the owner the hand-off, routing and acceptance facts set, the furthest stage
//! reached, and the reason code named from the proto enums. The BI view `lead_exits` is
//! compared with the same replay.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Utc};
use leadledger_api::convert::{time_from_proto, time_to_proto};
use leadledger_api::pb::{self, event::Payload as P, query_service_client::QueryServiceClient};
use leadledger_domain::Stage;
use leadledger_e2e::events::{accepted, at, captured, event, mql};
use leadledger_e2e::workload::{every_lead, quarter, TENANT as T};
use leadledger_e2e::TestEnv;
use tonic::transport::Channel;

/// One exit as the replay sees it.
#[derive(Debug, Clone, PartialEq)]
struct Exit {
    lead: String,
    channel: String,
    kind: Stage,
    at: DateTime<Utc>,
    code: String,
    text: String,
    rep: String,
    team: String,
    reached: Option<Stage>,
}

/// `RECYCLE_REASON_STALE` → `stale`.
fn name(full: &str, prefix: &str) -> String {
    full.strip_prefix(prefix)
        .expect("the enum's prefix")
        .to_lowercase()
}

fn code_of(kind: Stage, n: i32) -> String {
    let named = match kind {
        Stage::Rejected => pb::RejectReason::try_from(n)
            .ok()
            .map(|e| name(e.as_str_name(), "REJECT_REASON_")),
        Stage::Recycled => pb::RecycleReason::try_from(n)
            .ok()
            .map(|e| name(e.as_str_name(), "RECYCLE_REASON_")),
        Stage::Disqualified => pb::DisqualifyReason::try_from(n)
            .ok()
            .map(|e| name(e.as_str_name(), "DISQUALIFY_REASON_")),
        Stage::Lost => pb::LossReason::try_from(n)
            .ok()
            .map(|e| name(e.as_str_name(), "LOSS_REASON_")),
        _ => unreachable!("no exit"),
    };
    named.unwrap_or_else(|| "other".into())
}

/// Every exit of the tenant, replayed from each lead's timeline.
async fn replay_exits(q: &mut QueryServiceClient<Channel>) -> anyhow::Result<Vec<Exit>> {
    let mut out = Vec::new();
    for got in every_lead(q).await? {
        let lead = got.lead.expect("a lead");
        let channel = lead.source.unwrap_or_default().channel;
        let before = out.len();
        let (mut stage, mut max_rank) = (None::<Stage>, 0u8);
        let (mut rep, mut team) = (String::new(), String::new());
        for entry in &got.timeline {
            let e = entry.event.as_ref().expect("a known event");
            let when = e.occurred_at.as_ref().and_then(time_from_proto).unwrap();
            let (to, reason) = match e.payload.as_ref().expect("a payload") {
                P::LeadCaptured(_) if stage.is_none() => (Some(Stage::Captured), None),
                P::MqlQualified(_) => (Some(Stage::Mql), None),
                P::HandedOff(h) => {
                    (rep, team) = (h.rep_id.clone(), h.team.clone());
                    (None, None)
                }
                P::LeadRouted(r) => {
                    (rep, team) = (r.rep_id.clone(), r.team.clone());
                    (None, None)
                }
                P::SalesAccepted(a) => {
                    if !a.rep_id.is_empty() {
                        rep.clone_from(&a.rep_id);
                    }
                    (Some(Stage::Sql), None)
                }
                P::PocStarted(_) => (Some(Stage::Poc), None),
                P::Signed(_) => (Some(Stage::Signed), None),
                P::SalesRejected(r) => {
                    (Some(Stage::Rejected), Some((r.reason, &r.text, &r.rep_id)))
                }
                P::Recycled(r) => (Some(Stage::Recycled), Some((r.code, &r.reason, &r.rep_id))),
                P::Disqualified(d) => (
                    Some(Stage::Disqualified),
                    Some((d.code, &d.reason, &d.rep_id)),
                ),
                P::Lost(l) => (Some(Stage::Lost), Some((l.code, &l.reason, &l.rep_id))),
                P::OwnershipRequested(_) => panic!("no ownership requests here"),
                _ => (None, None),
            };
            let Some(to) = to.filter(|t| stage != Some(*t)) else {
                continue;
            };
            if let Some((code, text, fact_rep)) = reason {
                out.push(Exit {
                    lead: lead.lead_id.clone(),
                    channel: channel.clone(),
                    kind: to,
                    at: when,
                    code: code_of(to, code),
                    text: text.clone(),
                    rep: if fact_rep.is_empty() {
                        rep.clone()
                    } else {
                        fact_rep.clone()
                    },
                    team: team.clone(),
                    reached: Stage::MAIN_LINE
                        .into_iter()
                        .find(|s| s.rank() == Some(max_rank)),
                });
                if to == Stage::Recycled {
                    (rep, team) = (String::new(), String::new());
                }
            }
            max_rank = max_rank.max(to.rank().unwrap_or(0));
            stage = Some(to);
        }
        // The replay's exits are the lead's stays in side stages.
        let side_stays = lead
            .visits
            .iter()
            .filter(|v| Stage::from_number(v.stage).is_some_and(Stage::is_exit))
            .count();
        assert_eq!(out.len() - before, side_stays, "{}", lead.lead_id);
    }
    Ok(out)
}

type Counts = BTreeMap<(Vec<String>, i32), BTreeMap<String, i64>>;

/// A listed exit: lead, kind, time, code, words, rep, reached stage.
type Listed = (String, i32, DateTime<Utc>, String, String, String, i32);

fn expected(exits: &[Exit], key: impl Fn(&Exit) -> Vec<String>) -> Counts {
    let mut want = Counts::new();
    for x in exits {
        *want
            .entry((key(x), x.kind.number()))
            .or_default()
            .entry(x.code.clone())
            .or_default() += 1;
    }
    want
}

/// The answer as counts, after checking its shares and orders.
fn answered(r: &pb::ReasonsResponse) -> Counts {
    let mut got = Counts::new();
    let mut total = 0;
    for g in &r.groups {
        let sum: i64 = g.reasons.iter().map(|x| x.exits).sum();
        assert_eq!(sum, g.exits, "{g:?}");
        assert!(g.reasons.windows(2).all(|w| w[0].exits >= w[1].exits));
        for x in &g.reasons {
            assert_eq!(x.share, x.exits as f64 / g.exits as f64, "{g:?}");
        }
        let codes = g
            .reasons
            .iter()
            .map(|x| (x.code.clone(), x.exits))
            .collect();
        assert!(got.insert((g.key.clone(), g.kind), codes).is_none());
        total += g.exits;
    }
    assert_eq!(total, r.total_exits);
    let keys: Vec<_> = r.groups.iter().map(|g| (&g.key, g.kind)).collect();
    assert!(
        keys.windows(2).all(|w| w[0] < w[1]),
        "groups in key, kind order"
    );
    got
}

fn month(t: DateTime<Utc>) -> String {
    format!("{}-{:02}", t.year(), t.month())
}

fn stage_name(s: Option<Stage>) -> String {
    s.map_or_else(String::new, |s| s.as_str().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reasons_equal_an_independent_replay_of_the_timelines() -> anyhow::Result<()> {
    let env = TestEnv::start(2).await?;
    // A lead whose recycle gives words only and names no rep (as every recycle did before
    // the codes): `unspecified`, by the owner who held it, after reaching SQL.
    let crafted = vec![
        captured("X-words", "xc1", at(4, 1, 9), "crafted"),
        mql("X-words", "xm1", at(4, 2, 9)),
        event(
            "X-words",
            "salesforce",
            "xh1",
            at(4, 2, 10),
            P::HandedOff(pb::HandedOff {
                team: "east-ka".into(),
                rep_id: "rep-9".into(),
                ..Default::default()
            }),
        ),
        accepted("X-words", "xa1", at(4, 3, 9), "rep-9"),
        event(
            "X-words",
            "salesforce",
            "xr1",
            at(5, 20, 9),
            P::Recycled(pb::Recycled {
                reason: "no activity since April".into(),
                ..Default::default()
            }),
        ),
    ];
    let token = quarter(&env, 29, 400, crafted).await?;
    let mut q = env.query().await?;
    let exits = replay_exits(&mut q).await?;
    let kinds: BTreeMap<Stage, usize> = exits.iter().fold(BTreeMap::new(), |mut m, x| {
        *m.entry(x.kind).or_default() += 1;
        m
    });
    // Seed 29: 57 rejected, 27 recycled, 31 disqualified, 28 lost.
    assert!(
        kinds.len() == 4 && kinds.values().all(|n| *n >= 20),
        "the quarter exits every way: {kinds:?}"
    );
    assert!(
        exits.iter().any(|x| x.code == "stale" && !x.rep.is_empty()),
        "a stale recycle names no rep and is the owner's"
    );

    let x = exits.iter().find(|x| x.lead == "X-words").unwrap();
    assert_eq!(
        (x.code.as_str(), x.rep.as_str(), x.team.as_str(), x.reached),
        ("unspecified", "rep-9", "east-ka", Some(Stage::Sql))
    );
    let lead = q
        .get_lead(pb::GetLeadRequest {
            tenant_id: T.into(),
            lead_id: "X-words".into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let shown: Vec<_> = lead
        .transitions
        .iter()
        .filter_map(|t| t.exit.clone())
        .collect();
    assert_eq!(
        shown,
        [pb::ExitReason {
            code: "unspecified".into(),
            text: "no activity since April".into(),
            rep_id: "rep-9".into(),
            team: "east-ka".into(),
            reached_stage: Stage::Sql.number(),
        }]
    );

    let ask = |r: pb::ReasonsRequest| pb::ReasonsRequest {
        tenant_id: T.into(),
        consistency_token: token.clone(),
        ..r
    };
    use pb::ExitDimension as D;
    // Every exit by kind and code; by channel and rep for losses and recycles; by exit
    // month, team and reached stage; one month of exits.
    let may = (at(5, 1, 0), at(6, 1, 0));
    let cases: Vec<(pb::ReasonsRequest, Counts)> = vec![
        (pb::ReasonsRequest::default(), expected(&exits, |_| vec![])),
        (
            pb::ReasonsRequest {
                group_by: vec![D::Channel as i32, D::Rep as i32],
                kinds: vec![Stage::Recycled.number(), Stage::Lost.number()],
                ..Default::default()
            },
            expected(
                &exits
                    .iter()
                    .filter(|x| matches!(x.kind, Stage::Recycled | Stage::Lost))
                    .cloned()
                    .collect::<Vec<_>>(),
                |x| vec![x.channel.clone(), x.rep.clone()],
            ),
        ),
        (
            pb::ReasonsRequest {
                group_by: vec![D::ExitMonth as i32, D::Team as i32, D::ReachedStage as i32],
                ..Default::default()
            },
            expected(&exits, |x| {
                vec![month(x.at), x.team.clone(), stage_name(x.reached)]
            }),
        ),
        (
            pb::ReasonsRequest {
                exited_from: Some(time_to_proto(may.0)),
                exited_to: Some(time_to_proto(may.1)),
                ..Default::default()
            },
            expected(
                &exits
                    .iter()
                    .filter(|x| x.at >= may.0 && x.at < may.1)
                    .cloned()
                    .collect::<Vec<_>>(),
                |_| vec![],
            ),
        ),
    ];
    for (request, want) in cases {
        let got = q.reasons(ask(request.clone())).await?.into_inner();
        assert_eq!(answered(&got), want, "{request:?}");
        assert!(got.exits.is_empty(), "list_limit 0 lists nothing");
    }

    // The valuable leads that did not convert: lost or recycled after reaching SQL, counted
    // and listed latest first.
    let mut valuable: Vec<&Exit> = exits
        .iter()
        .filter(|x| matches!(x.kind, Stage::Lost | Stage::Recycled))
        .filter(|x| x.reached.is_some_and(|r| r >= Stage::Sql))
        .collect();
    assert!(valuable.len() > 10, "the quarter loses valuable leads");
    valuable.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.lead.cmp(&b.lead)));
    let got = q
        .reasons(ask(pb::ReasonsRequest {
            kinds: vec![Stage::Lost.number(), Stage::Recycled.number()],
            reached: Stage::Sql.number(),
            list_limit: 1000,
            ..Default::default()
        }))
        .await?
        .into_inner();
    assert_eq!(got.total_exits, valuable.len() as i64);
    let listed: Vec<Listed> = got
        .exits
        .iter()
        .map(|e| {
            let r = e.reason.clone().unwrap_or_default();
            (
                e.lead_id.clone(),
                e.kind,
                e.at.as_ref().and_then(time_from_proto).unwrap(),
                r.code,
                r.text,
                r.rep_id,
                r.reached_stage,
            )
        })
        .collect();
    let want: Vec<Listed> = valuable
        .iter()
        .take(1000)
        .map(|x| {
            (
                x.lead.clone(),
                x.kind.number(),
                x.at,
                x.code.clone(),
                x.text.clone(),
                x.rep.clone(),
                x.reached.map_or(0, Stage::number),
            )
        })
        .collect();
    assert_eq!(listed, want);

    // The BI view holds the same exits.
    let rows: Vec<(String, String, String, String, i64)> = sqlx::query_as(
        "SELECT exit_kind, reason_code, coalesce(rep_id, ''), channel, count(*) FROM lead_exits \
         WHERE tenant_id = $1 GROUP BY 1, 2, 3, 4",
    )
    .bind(T)
    .fetch_all(&env.store.pool)
    .await?;
    let mut view = Counts::new();
    for (kind, code, rep, channel, n) in rows {
        let kind = Stage::parse(&kind).expect("an exit stage").number();
        view.entry((vec![channel, rep], kind))
            .or_default()
            .insert(code, n);
    }
    assert_eq!(
        view,
        expected(&exits, |x| vec![x.channel.clone(), x.rep.clone()])
    );
    env.cleanup().await
}

/// Migration 0014's backfill, as it runs on a database projected before it.
const MIGRATION: &str = include_str!("../../crates/store/migrations/0014_exit_reasons.sql");

/// An exit row: lead, seq, code, words, rep, team, reached stage.
type ExitColumns = (
    String,
    i32,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

const EXIT_COLUMNS: &str = "SELECT lead_id, seq, reason_code, reason_text, exit_rep, exit_team, \
     reached_stage FROM stage_transitions WHERE tenant_id = $1 AND kind = 'exit' \
     ORDER BY lead_id, seq";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_0014_backfills_what_the_fold_derives() -> anyhow::Result<()> {
    let env = TestEnv::start(2).await?;
    quarter(&env, 31, 200, Vec::new()).await?;
    let start = MIGRATION
        .find("UPDATE stage_transitions t")
        .expect("the backfill");
    let backfill = &MIGRATION[start..start + MIGRATION[start..].find(";\n").unwrap()];

    // In one transaction, rolled back: the projector cannot move rows under it.
    let mut tx = env.store.pool.begin().await?;
    let folded: Vec<ExitColumns> = sqlx::query_as(EXIT_COLUMNS)
        .bind(T)
        .fetch_all(&mut *tx)
        .await?;
    assert!(folded.len() > 50, "the quarter has exits");
    // The rows as a projector before 0014 left them.
    sqlx::query(
        "UPDATE stage_transitions SET reason_code = NULL, reason_text = NULL, exit_rep = NULL, \
         exit_team = NULL, reached_stage = NULL WHERE tenant_id = $1",
    )
    .bind(T)
    .execute(&mut *tx)
    .await?;
    sqlx::query(backfill).execute(&mut *tx).await?;
    let filled: Vec<ExitColumns> = sqlx::query_as(EXIT_COLUMNS)
        .bind(T)
        .fetch_all(&mut *tx)
        .await?;
    let untouched: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM stage_transitions WHERE tenant_id = $1 AND kind <> 'exit' \
         AND num_nonnulls(reason_code, reason_text, exit_rep, exit_team, reached_stage) > 0",
    )
    .bind(T)
    .fetch_one(&mut *tx)
    .await?;
    tx.rollback().await?;
    assert_eq!(untouched, 0, "only exits get reasons");

    // Code, words and reached stage as the fold has them; the rep where the fact names one
    // (else NULL: the owner at the time is in no row); the team never.
    assert_eq!(filled.len(), folded.len());
    let mut named = 0i64;
    for (f, b) in folded.iter().zip(&filled) {
        assert_eq!((&f.0, f.1, &f.2, &f.3, &f.6), (&b.0, b.1, &b.2, &b.3, &b.6));
        assert_eq!(b.5, None);
        if let Some(rep) = &b.4 {
            assert_eq!(Some(rep), f.4.as_ref(), "{f:?}");
            named += 1;
        }
    }
    let facts_naming_a_rep: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM lead_events e JOIN stage_transitions t \
         ON t.event_id = e.event_id AND t.kind = 'exit' WHERE e.tenant_id = $1 \
         AND coalesce(jsonb_path_query_first(e.body, '$.payload.*.rep_id') #>> '{}', '') <> ''",
    )
    .bind(T)
    .fetch_one(&env.store.pool)
    .await?;
    assert_eq!(named, facts_naming_a_rep);
    assert!(
        named > 0 && named < filled.len() as i64,
        "both kinds of facts"
    );
    env.cleanup().await
}
