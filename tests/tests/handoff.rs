//! The hand-off API end to end (real broker, real PostgreSQL): ownership decided in log order
//! under concurrent claims and identical on replay, the SLA report against the pure clock
//! evaluation, the resumable alert stream, partner leakage, account conflicts, and bad input.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use leadledger_api::convert::{internal_event_to_proto, time_to_proto};
use leadledger_api::pb::ownership_service_client::OwnershipServiceClient;
use leadledger_api::pb::sla_service_client::SlaServiceClient;
use leadledger_api::pb::{self, event::Payload as P};
use leadledger_domain::event::SlaAlert;
use leadledger_domain::{Event, Payload};
use leadledger_e2e::events::{at, captured, event, mql, signed};
use leadledger_e2e::{append, close, produce_raw, violation_fields, TestEnv};
use leadledger_sla::{evaluate, ClockState, PolicySet};
use prost::Message as _;
use tonic::transport::Channel;
use tonic::Code;
use tonic_types::StatusExt;

const T: &str = "acme";

async fn ownership(env: &TestEnv) -> anyhow::Result<OwnershipServiceClient<Channel>> {
    Ok(OwnershipServiceClient::connect(format!("http://{}", env.addr)).await?)
}

async fn sla(env: &TestEnv) -> anyhow::Result<SlaServiceClient<Channel>> {
    Ok(SlaServiceClient::connect(format!("http://{}", env.addr)).await?)
}

fn claim(lead: &str, rep: &str, request_id: &str) -> pb::ClaimLeadRequest {
    pb::ClaimLeadRequest {
        tenant_id: T.into(),
        lead_id: lead.into(),
        rep_id: rep.into(),
        team: "east".into(),
        request_id: request_id.into(),
        ..Default::default()
    }
}

fn assign(lead: &str, rep: &str, expected: &str) -> pb::AssignLeadRequest {
    pb::AssignLeadRequest {
        tenant_id: T.into(),
        lead_id: lead.into(),
        rep_id: rep.into(),
        requested_by: "mgr-1".into(),
        expected_rep_id: expected.into(),
        ..Default::default()
    }
}

fn handed(lead: &str, src: &str, when: DateTime<Utc>, owner: pb::HandedOff) -> pb::Event {
    event(lead, "salesforce", src, when, P::HandedOff(owner))
}

fn to_rep(team: &str, rep: &str) -> pb::HandedOff {
    pb::HandedOff {
        team: team.into(),
        rep_id: rep.into(),
        ..Default::default()
    }
}

fn to_partner(partner: &str) -> pb::HandedOff {
    pb::HandedOff {
        partner_id: partner.into(),
        ..Default::default()
    }
}

fn follow_up(lead: &str, src: &str, when: DateTime<Utc>) -> pb::Event {
    event(
        lead,
        "salesforce",
        src,
        when,
        P::FollowUpLogged(pb::FollowUpLogged {
            activity_type: pb::ActivityType::Call as i32,
            rep_id: "r".into(),
            note: String::new(),
        }),
    )
}

/// A capture with the given company domain, region and segment.
fn captured_at(
    lead: &str,
    when: DateTime<Utc>,
    domain: &str,
    region: &str,
    seg: pb::Segment,
) -> pb::Event {
    let mut e = captured(lead, &format!("c-{lead}"), when, "webinar");
    if let Some(P::LeadCaptured(c)) = e.payload.as_mut() {
        let company = c.company.as_mut().unwrap();
        company.domain = domain.into();
        company.region = region.into();
        company.segment = seg as i32;
    }
    e
}

fn owner_in(status: &tonic::Status) -> String {
    status
        .get_error_details()
        .error_info()
        .and_then(|i| i.metadata.get("owner_rep_id").cloned())
        .unwrap_or_default()
}

async fn lead_row(env: &TestEnv, lead: &str) -> anyhow::Result<(String, String)> {
    Ok(sqlx::query_as(
        "SELECT owner_rep_id, owner_team FROM leads WHERE tenant_id = $1 AND lead_id = $2",
    )
    .bind(T)
    .bind(lead)
    .fetch_one(&env.store.pool)
    .await?)
}

/// `ownership_decisions` and `leads` as text rows, in a stable order.
async fn ownership_rows(store: &leadledger_store::Store) -> anyhow::Result<Vec<String>> {
    let mut out: Vec<String> = sqlx::query_scalar(
        "SELECT d::text FROM ownership_decisions d ORDER BY log_partition, log_offset",
    )
    .fetch_all(&store.pool)
    .await?;
    out.extend(
        sqlx::query_scalar::<_, String>("SELECT l::text FROM leads l ORDER BY tenant_id, lead_id")
            .fetch_all(&store.pool)
            .await?,
    );
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claims_have_one_winner_and_a_replay_decides_the_same() -> anyhow::Result<()> {
    let mut env = TestEnv::start(3).await?;
    let mut ingest = env.ingest().await?;
    let resp = append(
        &mut ingest,
        T,
        vec![
            captured("L-1", "c1", at(4, 1, 9), "website"),
            mql("L-1", "m1", at(4, 1, 10)),
            captured("L-2", "c2", at(4, 1, 9), "website"),
        ],
    )
    .await?;
    assert_eq!(resp.acks.len(), 3);
    let client = ownership(&env).await?;
    let reps: Vec<String> = (0..6).map(|i| format!("rep-{i}")).collect();
    let calls: Vec<_> = reps
        .iter()
        .map(|rep| {
            let mut c = client.clone();
            let req = claim("L-1", rep, &format!("claim-{rep}"));
            tokio::spawn(async move { c.claim_lead(req).await })
        })
        .collect();
    let mut winners = Vec::new();
    let mut losers = Vec::new();
    for (rep, call) in reps.iter().zip(calls) {
        match call.await? {
            Ok(r) => winners.push((rep.clone(), r.into_inner())),
            Err(s) => losers.push((rep.clone(), s)),
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}, losers: {losers:?}");
    let (winner, granted) = &winners[0];
    let d = granted.decision.as_ref().unwrap();
    assert_eq!(&d.rep_id, winner);
    assert_eq!(d.owner_before, "");
    assert_eq!(losers.len(), 5);
    for (rep, s) in &losers {
        assert_eq!(s.code(), Code::FailedPrecondition, "{rep}: {s:?}");
        assert!(
            s.message().contains(&format!("`{winner}`")) && s.message().contains("L-1"),
            "{rep}: {}",
            s.message()
        );
        assert_eq!(&owner_in(s), winner);
    }
    assert_eq!(
        lead_row(&env, "L-1").await?,
        (winner.clone(), "east".into())
    );
    // The lead's state through the query API with the claim's token.
    let lead = env
        .query()
        .await?
        .get_lead(pb::GetLeadRequest {
            tenant_id: T.into(),
            lead_id: "L-1".into(),
            consistency_token: granted.consistency_token.clone(),
        })
        .await?
        .into_inner();
    assert_eq!(lead.lead.unwrap().owner.unwrap().rep_id, *winner);
    let decided: Vec<(bool, String)> = sqlx::query_as(
        "SELECT granted, owner_before FROM ownership_decisions WHERE lead_id = 'L-1' \
         ORDER BY log_partition, log_offset",
    )
    .fetch_all(&env.store.pool)
    .await?;
    assert_eq!(decided.len(), 6);
    assert!(decided[0].0 && decided[0].1.is_empty(), "{decided:?}");
    assert!(decided[1..].iter().all(|(g, o)| !g && o == winner));

    env.wait_caught_up(Duration::from_secs(30)).await?;
    env.stop_projector().await?;
    let live = ownership_rows(&env.store).await?;
    let fresh = env.replay("replay").await?;
    let replayed = ownership_rows(&fresh).await?;
    assert_eq!(live.len(), 6 + 2);
    assert_eq!(live, replayed);
    fresh.pool.close().await;
    env.cleanup().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assign_unknown_closed_and_retried_requests() -> anyhow::Result<()> {
    let env = TestEnv::start(2).await?;
    let mut ingest = env.ingest().await?;
    append(
        &mut ingest,
        T,
        vec![
            captured("L-A", "ca", at(4, 1, 9), "website"),
            captured("L-B", "cb", at(4, 1, 9), "website"),
            captured("L-S", "cs", at(4, 1, 9), "website"),
            signed("L-S", "ss", at(4, 2, 9), 1000),
        ],
    )
    .await?;
    let mut c = ownership(&env).await?;

    c.claim_lead(claim("L-A", "ann", "")).await?;
    let wrong = c
        .assign_lead(assign("L-A", "bob", "carl"))
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Code::FailedPrecondition);
    assert!(wrong.message().contains("`carl`") && wrong.message().contains("`ann`"));
    assert_eq!(owner_in(&wrong), "ann");
    let right = c
        .assign_lead(assign("L-A", "bob", "ann"))
        .await?
        .into_inner();
    let d = right.decision.unwrap();
    assert_eq!((d.rep_id.as_str(), d.owner_before.as_str()), ("bob", "ann"));
    assert_eq!(lead_row(&env, "L-A").await?.0, "bob");

    // Twice: the first refused intent must not make the lead "known" to the second.
    for rep in ["ann", "bob"] {
        let unknown = c.claim_lead(claim("L-NOPE", rep, "")).await.unwrap_err();
        assert_eq!(unknown.code(), Code::FailedPrecondition);
        assert!(unknown.message().contains("no such lead"), "{unknown:?}");
    }
    let closed = c.claim_lead(claim("L-S", "ann", "")).await.unwrap_err();
    assert_eq!(closed.code(), Code::FailedPrecondition);
    assert!(closed.message().contains("closed"), "{closed:?}");

    // The same request id twice: one intent, the same answer (granted, then refused).
    let first = c.claim_lead(claim("L-B", "dan", "r-1")).await?.into_inner();
    let again = c.claim_lead(claim("L-B", "dan", "r-1")).await?.into_inner();
    assert_eq!(first.decision, again.decision);
    let lost1 = c.claim_lead(claim("L-B", "eve", "r-2")).await.unwrap_err();
    let lost2 = c.claim_lead(claim("L-B", "eve", "r-2")).await.unwrap_err();
    assert_eq!(lost1.message(), lost2.message());
    let intent = |s: &tonic::Status| {
        s.get_error_details().error_info().unwrap().metadata["intent_id"].clone()
    };
    assert_eq!(intent(&lost1), intent(&lost2));
    let (intents, decisions): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM lead_events WHERE lead_id = 'L-B' \
                   AND event_type = 'ownership_requested'), \
                (SELECT count(*) FROM ownership_decisions WHERE lead_id = 'L-B')",
    )
    .fetch_one(&env.store.pool)
    .await?;
    assert_eq!((intents, decisions), (2, 2));
    assert_eq!(lead_row(&env, "L-B").await?.0, "dan");
    env.cleanup().await
}

/// The lead's timeline for the SLA fixture: capture, MQL, hand-off to a rep, and per lead a
/// different follow-up delay and outcome (accepted, rejected, recycled or nothing).
fn sla_fixture() -> Vec<pb::Event> {
    let reps = ["ann", "bob", "cat"];
    let follow = [
        Some(2),
        Some(26),
        Some(70),
        Some(100),
        None,
        Some(5),
        Some(200),
        None,
        Some(12),
        Some(150),
    ];
    let mut out = Vec::new();
    for (i, delay) in follow.iter().enumerate() {
        let lead = format!("S-{i}");
        let base = at(3, 2 + u32::try_from(i).unwrap(), 9);
        let h = |n: i64| base + chrono::Duration::hours(n);
        out.push(captured(&lead, &format!("{lead}-c"), base, "webinar"));
        out.push(mql(&lead, &format!("{lead}-m"), h(1)));
        out.push(handed(
            &lead,
            &format!("{lead}-h"),
            h(2),
            to_rep(if i % 2 == 0 { "east" } else { "west" }, reps[i % 3]),
        ));
        if let Some(d) = delay {
            out.push(follow_up(&lead, &format!("{lead}-f"), h(1 + d)));
        }
        let src = format!("{lead}-o");
        match i % 4 {
            0 => out.push(event(
                &lead,
                "salesforce",
                &src,
                h(31),
                P::SalesAccepted(pb::SalesAccepted {
                    rep_id: "ann".into(),
                }),
            )),
            1 => out.push(event(
                &lead,
                "salesforce",
                &src,
                h(61),
                P::SalesRejected(pb::SalesRejected {
                    reason: 1,
                    text: "no budget".into(),
                    rep_id: "bob".into(),
                }),
            )),
            2 => out.push(event(
                &lead,
                "salesforce",
                &src,
                h(91),
                P::Recycled(pb::Recycled {
                    reason: "later".into(),
                    ..Default::default()
                }),
            )),
            _ => {}
        }
        // Paused clocks (docs/SLA.md): S-1 pauses every policy from 05:00 to 15:00 the next
        // day and is followed up inside the pause; S-4 pauses every policy over the weekend;
        // S-7 pauses its follow-up clock for good.
        let pause = |src: &str, when, policy_ids: &[&str]| {
            event(
                &lead,
                "salesforce",
                &format!("{lead}-{src}"),
                when,
                P::ClockPaused(pb::ClockPaused {
                    reason: pb::PauseReason::WaitingOnCustomer as i32,
                    policy_ids: policy_ids.iter().map(|s| s.to_string()).collect(),
                    ..Default::default()
                }),
            )
        };
        let resume = |src: &str, when| {
            event(
                &lead,
                "salesforce",
                &format!("{lead}-{src}"),
                when,
                P::ClockResumed(pb::ClockResumed::default()),
            )
        };
        match i {
            1 => out.extend([pause("p", h(20), &[]), resume("r", h(30))]),
            4 => out.extend([pause("p", h(3), &[]), resume("r", h(72))]),
            7 => out.push(pause("p", h(5), &["mql-follow-up"])),
            _ => {}
        }
    }
    out
}

/// What the report must say, from the pure clock evaluation: per (key, policy) the counts
/// and the sorted times to target.
#[derive(Debug, Default, PartialEq)]
struct Expected {
    counts: BTreeMap<&'static str, i64>,
    to_target: Vec<f64>,
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let pos = p * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(sorted[lo] + (pos - lo as f64) * (sorted[hi] - sorted[lo]))
}

fn expected_report(
    timelines: &BTreeMap<String, Vec<Event>>,
    as_of: DateTime<Utc>,
    by_rep: bool,
) -> BTreeMap<(String, String), Expected> {
    let set = PolicySet::defaults();
    let mut out: BTreeMap<(String, String), Expected> = BTreeMap::new();
    for events in timelines.values() {
        let state = leadledger_domain::fold(events);
        for c in evaluate(&set.policies, &set.calendar, events, &state, as_of) {
            let key = if by_rep {
                state.owner.rep_id.clone()
            } else {
                c.policy_id.clone()
            };
            let e = out.entry((key, c.policy_id.clone())).or_default();
            *e.counts.entry(c.state.as_str()).or_default() += 1;
            if matches!(
                c.state,
                ClockState::Stopped {
                    breached_at: Some(_),
                    ..
                }
            ) {
                *e.counts.entry("stopped_breached").or_default() += 1;
            }
            if let ClockState::Met { at } | ClockState::MetLate { at, .. } = c.state {
                e.to_target
                    .push((at - c.started_at).num_microseconds().unwrap() as f64 / 1e6);
            }
        }
    }
    for e in out.values_mut() {
        e.to_target.sort_by(f64::total_cmp);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sla_report_at_as_of_equals_the_pure_evaluation() -> anyhow::Result<()> {
    let env = TestEnv::start(3).await?;
    let mut ingest = env.ingest().await?;
    let token = append(&mut ingest, T, sla_fixture())
        .await?
        .consistency_token;
    let mut client = sla(&env).await?;
    // Wait through the API, then read the applied timelines for the pure side.
    client
        .sla_report(pb::SlaReportRequest {
            tenant_id: T.into(),
            consistency_token: token,
            ..Default::default()
        })
        .await?;
    let bodies: Vec<(String, serde_json::Value)> =
        sqlx::query_as("SELECT lead_id, body FROM lead_events WHERE tenant_id = $1")
            .bind(T)
            .fetch_all(&env.store.pool)
            .await?;
    let mut timelines: BTreeMap<String, Vec<Event>> = BTreeMap::new();
    for (lead, body) in bodies {
        timelines
            .entry(lead)
            .or_default()
            .push(serde_json::from_value(body)?);
    }
    assert_eq!(timelines.len(), 10);
    let mut saw_running_then_ended = false;
    let mut seen_states: HashSet<&str> = HashSet::new();
    for as_of in [
        at(3, 3, 12),
        at(3, 4, 10),
        at(3, 6, 9),
        at(3, 8, 12),
        at(3, 10, 9),
        at(3, 16, 9),
        at(6, 1, 0),
    ] {
        // By policy the page lists the default (at risk and breached); by rep, the clocks
        // open (under the at-risk point) or breached, as a caller asks with `clock_states`.
        for (by_rep, group_by) in [(false, pb::SlaGroupBy::Policy), (true, pb::SlaGroupBy::Rep)] {
            let (clock_states, listed): (Vec<i32>, Vec<&str>) = if by_rep {
                (
                    vec![
                        pb::SlaClockState::Open as i32,
                        pb::SlaClockState::Breached as i32,
                        pb::SlaClockState::Paused as i32,
                    ],
                    vec!["open", "breached", "paused"],
                )
            } else {
                (Vec::new(), vec!["at_risk", "breached"])
            };
            let want = expected_report(&timelines, as_of, by_rep);
            seen_states.extend(want.values().flat_map(|w| w.counts.keys().copied()));
            let got = client
                .sla_report(pb::SlaReportRequest {
                    tenant_id: T.into(),
                    as_of: Some(time_to_proto(as_of)),
                    group_by: group_by as i32,
                    page_size: 3,
                    clock_states: clock_states.clone(),
                    ..Default::default()
                })
                .await?
                .into_inner();
            assert_eq!(
                got.groups.len(),
                want.len(),
                "{as_of} {group_by:?}: {got:?}"
            );
            for g in &got.groups {
                let w = &want[&(g.key.clone(), g.policy_id.clone())];
                let n = |k: &str| w.counts.get(k).copied().unwrap_or(0);
                let ctx = format!("{as_of} {group_by:?} {}/{}", g.key, g.policy_id);
                assert_eq!(
                    [
                        g.met,
                        g.met_late,
                        g.breached,
                        g.stopped,
                        g.stopped_breached,
                        g.open,
                        g.at_risk,
                        g.paused
                    ],
                    [
                        n("met"),
                        n("met_late"),
                        n("breached"),
                        n("stopped"),
                        n("stopped_breached"),
                        n("open"),
                        n("at_risk"),
                        n("paused")
                    ],
                    "{ctx}"
                );
                assert_eq!(
                    g.clocks,
                    w.counts.values().sum::<i64>() - n("stopped_breached")
                );
                let measured = n("met") + n("met_late") + n("breached") + n("stopped_breached");
                assert_eq!(g.measured, measured, "{ctx}");
                assert!(close(
                    g.compliance_pct,
                    (measured > 0).then(|| 100.0 * n("met") as f64 / measured as f64)
                ));
                assert!(
                    close(g.median_seconds_to_target, percentile(&w.to_target, 0.5)),
                    "{ctx}: {:?} vs {:?}",
                    g.median_seconds_to_target,
                    w.to_target
                );
                assert!(
                    close(g.p90_seconds_to_target, percentile(&w.to_target, 0.9)),
                    "{ctx}"
                );
            }
            // The attention list, page by page, is exactly the clocks in the listed states.
            let mut attention = got.attention.clone();
            let mut token = got.next_page_token.clone();
            while !token.is_empty() {
                let page = client
                    .sla_report(pb::SlaReportRequest {
                        tenant_id: T.into(),
                        as_of: Some(time_to_proto(as_of)),
                        group_by: group_by as i32,
                        page_size: 3,
                        page_token: token,
                        clock_states: clock_states.clone(),
                        ..Default::default()
                    })
                    .await?
                    .into_inner();
                attention.extend(page.attention);
                token = page.next_page_token;
            }
            let wanted: i64 = want
                .values()
                .map(|w| {
                    listed
                        .iter()
                        .map(|s| w.counts.get(s).copied().unwrap_or(0))
                        .sum::<i64>()
                })
                .sum();
            assert_eq!(attention.len() as i64, wanted, "{as_of} {listed:?}");
            let states: Vec<i32> = listed
                .iter()
                .map(|s| match *s {
                    "open" => pb::SlaClockState::Open as i32,
                    "at_risk" => pb::SlaClockState::AtRisk as i32,
                    "paused" => pb::SlaClockState::Paused as i32,
                    _ => pb::SlaClockState::Breached as i32,
                })
                .collect();
            assert!(
                attention.iter().all(|c| states.contains(&c.state)),
                "{as_of}: a clock outside {listed:?}"
            );
            // A paused clock says since when, inside a pause that has ended since too.
            for c in &attention {
                if c.state == pb::SlaClockState::Paused as i32 {
                    let since = c.paused_at.as_ref().map(|t| t.seconds);
                    let want = match c.lead_id.as_str() {
                        "S-1" => at(3, 4, 5),
                        "S-4" => at(3, 6, 12),
                        _ => at(3, 9, 14),
                    };
                    // A clock opened while paused is paused from its start.
                    let started = c.started_at.as_ref().map_or(0, |t| t.seconds);
                    let want = want.timestamp().max(started);
                    assert_eq!(since, Some(want), "{as_of}: {c:?}");
                }
            }
            let dues: Vec<_> = attention
                .iter()
                .map(|c| c.due_at.unwrap().seconds)
                .collect();
            assert!(dues.windows(2).all(|w| w[0] <= w[1]));
            let keys: HashSet<_> = attention
                .iter()
                .map(|c| {
                    (
                        c.lead_id.clone(),
                        c.policy_id.clone(),
                        c.start_event_id.clone(),
                    )
                })
                .collect();
            assert_eq!(keys.len(), attention.len(), "a clock listed twice");
        }
        let final_met = expected_report(&timelines, at(6, 1, 0), false);
        let now_met = expected_report(&timelines, as_of, false);
        if now_met != final_met {
            saw_running_then_ended = true;
        }
    }
    // The instants chosen do see clocks that end later as still running, and every state.
    assert!(saw_running_then_ended);
    let mut seen: Vec<_> = seen_states.into_iter().collect();
    seen.sort_unstable();
    assert_eq!(
        seen,
        [
            "at_risk",
            "breached",
            "met",
            "met_late",
            "open",
            "paused",
            "stopped",
            "stopped_breached"
        ]
    );
    // A window on the start and a policy filter.
    let got = client
        .sla_report(pb::SlaReportRequest {
            tenant_id: T.into(),
            as_of: Some(time_to_proto(at(6, 1, 0))),
            started_from: Some(time_to_proto(at(3, 6, 0))),
            policy_ids: vec!["mql-follow-up".into()],
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(got.groups.len(), 1);
    assert_eq!(got.groups[0].policy_id, "mql-follow-up");
    assert_eq!(
        got.groups[0].clocks, 6,
        "leads S-4..S-9 start on or after March 6"
    );
    env.cleanup().await
}

/// An SLA alert for `lead` as the SLA worker would write it.
fn alert(lead: &str, n: u32, breached: bool) -> (String, pb::Event) {
    let start = uuid::Uuid::from_u128(0xa1e7_0000 + u128::from(n));
    let policy = "mql-follow-up";
    let kind = if breached { "breached" } else { "at_risk" };
    let a = SlaAlert {
        policy_id: policy.into(),
        policy_version: 1,
        start_event_id: start,
        started_at: at(5, 1, 9),
        due_at: at(5, 4, 9),
    };
    let when = at(5, 3, 9) + chrono::Duration::minutes(i64::from(n));
    let e = Event {
        event_id: leadledger_domain::ids::sla_alert_id(start, policy, kind),
        tenant_id: T.into(),
        lead_id: lead.into(),
        occurred_at: when,
        recorded_at: when,
        source: leadledger_domain::event::SourceRef {
            system: "leadledger.sla".into(),
            event_id: String::new(),
        },
        schema_version: 1,
        payload: if breached {
            Payload::SlaBreached(a)
        } else {
            Payload::SlaAtRisk(a)
        },
    };
    let id = e.event_id.to_string();
    (id, internal_event_to_proto(&e, None).unwrap())
}

async fn produce_alerts(env: &TestEnv, alerts: &[(String, pb::Event)]) -> anyhow::Result<()> {
    for (_, e) in alerts {
        produce_raw(
            &env.log.brokers,
            &env.log.topic,
            &e.lead_id,
            &e.encode_to_vec(),
            None,
        )
        .await?;
    }
    Ok(())
}

/// Reads `n` messages (or fails after 20 s).
async fn take(
    stream: &mut tonic::Streaming<pb::WatchSlaResponse>,
    n: usize,
) -> anyhow::Result<Vec<pb::WatchSlaResponse>> {
    let mut out = Vec::new();
    while out.len() < n {
        let m = tokio::time::timeout(Duration::from_secs(20), stream.message())
            .await
            .map_err(|_| anyhow::anyhow!("only {} of {n} alerts arrived", out.len()))??
            .ok_or_else(|| anyhow::anyhow!("stream ended"))?;
        out.push(m);
    }
    Ok(out)
}

/// Nothing more arrives within `quiet`.
async fn silent(stream: &mut tonic::Streaming<pb::WatchSlaResponse>, quiet: Duration) -> bool {
    tokio::time::timeout(quiet, stream.message()).await.is_err()
}

fn watch_req(position: &str) -> pb::WatchSlaRequest {
    pb::WatchSlaRequest {
        tenant_id: T.into(),
        from_position: position.into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_sla_resumes_without_gaps_or_duplicates_and_filters() -> anyhow::Result<()> {
    let env = TestEnv::start(3).await?;
    let mut ingest = env.ingest().await?;
    let leads = [
        ("W-1", "east", "ann", "华东", pb::Segment::Ka),
        ("W-2", "east", "bob", "华北", pb::Segment::Smb),
        ("W-3", "west", "cat", "华东", pb::Segment::Smb),
        ("W-4", "west", "ann", "华南", pb::Segment::Ka),
    ];
    let mut events = Vec::new();
    for (lead, team, rep, region, seg) in leads {
        events.push(captured_at(
            lead,
            at(5, 1, 8),
            &format!("{lead}.cn"),
            region,
            seg,
        ));
        events.push(handed(
            lead,
            &format!("h-{lead}"),
            at(5, 1, 9),
            to_rep(team, rep),
        ));
    }
    append(&mut ingest, T, events).await?;
    let alerts: Vec<_> = (0..12u32)
        .map(|n| alert(leads[n as usize % 4].0, n, n >= 6))
        .collect();
    produce_alerts(&env, &alerts[..8]).await?;

    let mut client = sla(&env).await?;
    let mut stream = client.watch_sla(watch_req("")).await?.into_inner();
    let first = take(&mut stream, 5).await?;
    drop(stream); // disconnect mid-way
    produce_alerts(&env, &alerts[8..]).await?;
    let resume = first.last().unwrap().resume_position.clone();
    let mut stream = client.watch_sla(watch_req(&resume)).await?.into_inner();
    let rest = take(&mut stream, 7).await?;
    assert!(
        silent(&mut stream, Duration::from_millis(800)).await,
        "more than 12 alerts"
    );
    drop(stream);

    let all: Vec<_> = first.iter().chain(&rest).collect();
    let ids: Vec<_> = all.iter().map(|m| m.event_id.clone()).collect();
    let unique: HashSet<_> = ids.iter().cloned().collect();
    assert_eq!(unique.len(), 12, "duplicates: {ids:?}");
    let want: HashSet<_> = alerts.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(unique, want);
    // Log order within each partition.
    let mut last: HashMap<i32, i64> = HashMap::new();
    for m in &all {
        let p = m.position.unwrap();
        if let Some(prev) = last.insert(p.partition, p.offset) {
            assert!(
                prev < p.offset,
                "partition {} went {prev} → {}",
                p.partition,
                p.offset
            );
        }
    }
    let breached: HashMap<_, _> = alerts
        .iter()
        .enumerate()
        .map(|(n, (id, _))| (id.clone(), n >= 6))
        .collect();
    for m in &all {
        let want = if breached[&m.event_id] {
            pb::SlaAlertKind::Breached
        } else {
            pb::SlaAlertKind::AtRisk
        };
        assert_eq!(m.kind, want as i32, "{}", m.event_id);
        assert_eq!(m.alert.as_ref().unwrap().policy_id, "mql-follow-up");
    }

    // Filters, each from the start: exactly the alerts of the matching leads.
    let count_for =
        |pred: &dyn Fn(usize) -> bool| -> usize { (0..12).filter(|n| pred(n % 4)).count() };
    let cases: Vec<(pb::WatchSlaRequest, usize, &str)> = vec![
        (
            pb::WatchSlaRequest {
                rep_id: "ann".into(),
                ..watch_req("")
            },
            count_for(&|i| i == 0 || i == 3),
            "rep ann",
        ),
        (
            pb::WatchSlaRequest {
                team: "west".into(),
                ..watch_req("")
            },
            count_for(&|i| i >= 2),
            "team west",
        ),
        (
            pb::WatchSlaRequest {
                region: "华东".into(),
                ..watch_req("")
            },
            count_for(&|i| i == 0 || i == 2),
            "region 华东",
        ),
        (
            pb::WatchSlaRequest {
                segment: pb::Segment::Smb as i32,
                ..watch_req("")
            },
            count_for(&|i| i == 1 || i == 2),
            "segment SMB",
        ),
    ];
    for (req, n, what) in cases {
        let want_rep = req.rep_id.clone();
        let mut s = client.watch_sla(req).await?.into_inner();
        let got = take(&mut s, n).await?;
        assert!(
            silent(&mut s, Duration::from_millis(500)).await,
            "{what}: too many"
        );
        if !want_rep.is_empty() {
            assert!(got
                .iter()
                .all(|m| m.owner.as_ref().unwrap().rep_id == want_rep));
        }
    }
    // `from_now` sees only what is appended later.
    let mut s = client
        .watch_sla(pb::WatchSlaRequest {
            from_now: true,
            ..watch_req("")
        })
        .await?
        .into_inner();
    assert!(
        silent(&mut s, Duration::from_millis(500)).await,
        "old alerts replayed"
    );
    let late = alert("W-2", 99, true);
    produce_alerts(&env, std::slice::from_ref(&late)).await?;
    let got = take(&mut s, 1).await?;
    assert_eq!(got[0].event_id, late.0);
    drop(s);
    env.cleanup().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partner_leakage_and_account_conflicts() -> anyhow::Result<()> {
    let env = TestEnv::start(2).await?;
    let mut ingest = env.ingest().await?;
    let as_of = at(6, 30, 12);
    let days = |d: i64| as_of - chrono::Duration::days(d);
    let seg = pb::Segment::Ka;
    let mut events = Vec::new();
    let mut lead = |id: &str, domain: &str, extra: Vec<pb::Event>| {
        events.push(captured_at(id, days(60), domain, "华东", seg));
        events.extend(extra);
    };
    // Partner p-a: P1 nothing (leaked), P2 followed up after (kept), P3 followed up only
    // before the hand-off (leaked), P4 handed 5 days ago (too recent to count).
    lead(
        "P1",
        "p1.cn",
        vec![handed("P1", "h1", days(30), to_partner("p-a"))],
    );
    lead(
        "P2",
        "p2.cn",
        vec![
            handed("P2", "h2", days(30), to_partner("p-a")),
            follow_up("P2", "f2", days(29)),
        ],
    );
    lead(
        "P3",
        "p3.cn",
        vec![
            follow_up("P3", "f3", days(40)),
            handed("P3", "h3", days(31), to_partner("p-a")),
        ],
    );
    lead(
        "P4",
        "p4.cn",
        vec![handed("P4", "h4", days(5), to_partner("p-a"))],
    );
    // Partner p-b: P5 lost (an outcome), P6 nothing.
    lead(
        "P5",
        "p5.cn",
        vec![
            handed("P5", "h5", days(20), to_partner("p-b")),
            event(
                "P5",
                "salesforce",
                "l5",
                days(18),
                P::Lost(pb::Lost {
                    reason: "price".into(),
                    competitor: String::new(),
                    ..Default::default()
                }),
            ),
        ],
    );
    lead(
        "P6",
        "p6.cn",
        vec![handed("P6", "h6", days(20), to_partner("p-b"))],
    );
    // Accounts: x.cn owned by ann and bob (conflict), y.cn by ann twice, z.cn by bob and by
    // carl on a signed lead (closed: no conflict), w.cn by ann and dan (conflict).
    for (id, domain, rep) in [
        ("C1", "x.cn", "ann"),
        ("C2", "x.cn", "bob"),
        ("C3", "y.cn", "ann"),
        ("C4", "y.cn", "ann"),
        ("C5", "z.cn", "bob"),
        ("C6", "z.cn", "carl"),
        ("C7", "w.cn", "ann"),
        ("C8", "w.cn", "dan"),
    ] {
        lead(
            id,
            domain,
            vec![handed(id, &format!("h{id}"), days(10), to_rep("east", rep))],
        );
    }
    events.push(signed("C6", "s6", days(2), 100));
    let token = append(&mut ingest, T, events).await?.consistency_token;

    let mut client = sla(&env).await?;
    let got = client
        .partner_leakage(pb::PartnerLeakageRequest {
            tenant_id: T.into(),
            as_of: Some(time_to_proto(as_of)),
            consistency_token: token.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let by: HashMap<_, _> = got
        .partners
        .iter()
        .map(|p| (p.partner_id.as_str(), p))
        .collect();
    assert_eq!(by.len(), 2, "{got:?}");
    let a = by["p-a"];
    assert_eq!((a.handed_off, a.leaked), (3, 2));
    assert_eq!(a.leaked_lead_ids, ["P3", "P1"], "oldest hand-off first");
    assert!((a.leakage_pct - 200.0 / 3.0).abs() < 1e-9);
    let b = by["p-b"];
    assert_eq!(
        (b.handed_off, b.leaked, b.leaked_lead_ids.clone()),
        (2, 1, vec!["P6".to_string()])
    );
    // A shorter age counts P4 too; a cap lists fewer ids.
    let got = client
        .partner_leakage(pb::PartnerLeakageRequest {
            tenant_id: T.into(),
            as_of: Some(time_to_proto(as_of)),
            min_days: 3,
            max_lead_ids: 1,
            ..Default::default()
        })
        .await?
        .into_inner();
    let a = got.partners.iter().find(|p| p.partner_id == "p-a").unwrap();
    assert_eq!((a.handed_off, a.leaked, a.leaked_lead_ids.len()), (4, 3, 1));

    let mut own = ownership(&env).await?;
    let mut pages = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = own
            .list_ownership_conflicts(pb::ListOwnershipConflictsRequest {
                tenant_id: T.into(),
                page_size: 1,
                page_token,
                consistency_token: token.clone(),
            })
            .await?
            .into_inner();
        pages.extend(page.conflicts);
        page_token = page.next_page_token;
        if page_token.is_empty() {
            break;
        }
    }
    let got: Vec<_> = pages
        .iter()
        .map(|c| (c.company_domain.as_str(), c.rep_ids.clone(), c.open_leads))
        .collect();
    assert_eq!(
        got,
        [
            ("w.cn", vec!["ann".to_string(), "dan".to_string()], 2),
            ("x.cn", vec!["ann".to_string(), "bob".to_string()], 2),
        ]
    );
    env.cleanup().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_handoff_requests_get_field_violations_and_append_nothing() -> anyhow::Result<()> {
    let env = TestEnv::start(1).await?;
    let mut own = ownership(&env).await?;
    let mut s = sla(&env).await?;
    let fields = |r: Result<(), tonic::Status>| -> (Code, Vec<String>) {
        let st = r.unwrap_err();
        (st.code(), violation_fields(&st))
    };
    type Case<'a> = (&'a str, (Code, Vec<String>), &'a [&'a str]);
    let cases: Vec<Case> = vec![
        (
            "claim without lead and rep",
            fields(own.claim_lead(claim("", "", "")).await.map(drop)),
            &["lead_id", "rep_id"],
        ),
        (
            "assign without requested_by",
            fields(
                own.assign_lead(pb::AssignLeadRequest {
                    requested_by: String::new(),
                    ..assign("L-1", "ann", "")
                })
                .await
                .map(drop),
            ),
            &["requested_by"],
        ),
        (
            "claim on an anonymous visitor's key",
            fields(
                own.claim_lead(claim("~visitor/ck-1", "ann", ""))
                    .await
                    .map(drop),
            ),
            &["lead_id"],
        ),
        (
            "claim with a consistency token that is no token",
            fields(
                own.claim_lead(pb::ClaimLeadRequest {
                    consistency_token: "ct2:x".into(),
                    ..claim("L-1", "ann", "")
                })
                .await
                .map(drop),
            ),
            &["consistency_token"],
        ),
        (
            "claim with a blank request id",
            fields(own.claim_lead(claim("L-1", "ann", "  ")).await.map(drop)),
            &["request_id"],
        ),
        (
            "report grouped by an unknown dimension",
            fields(
                s.sla_report(pb::SlaReportRequest {
                    tenant_id: T.into(),
                    group_by: 42,
                    ..Default::default()
                })
                .await
                .map(drop),
            ),
            &["group_by"],
        ),
        (
            "report with a page too large",
            fields(
                s.sla_report(pb::SlaReportRequest {
                    tenant_id: T.into(),
                    page_size: 5000,
                    ..Default::default()
                })
                .await
                .map(drop),
            ),
            &["page_size"],
        ),
        (
            "report listing an unknown clock state",
            fields(
                s.sla_report(pb::SlaReportRequest {
                    tenant_id: T.into(),
                    clock_states: vec![pb::SlaClockState::Open as i32, 17],
                    ..Default::default()
                })
                .await
                .map(drop),
            ),
            &["clock_states[1]"],
        ),
        (
            "report listing the unspecified clock state",
            fields(
                s.sla_report(pb::SlaReportRequest {
                    tenant_id: T.into(),
                    clock_states: vec![pb::SlaClockState::Unspecified as i32],
                    ..Default::default()
                })
                .await
                .map(drop),
            ),
            &["clock_states[0]"],
        ),
        (
            "report with an empty window",
            fields(
                s.sla_report(pb::SlaReportRequest {
                    tenant_id: T.into(),
                    started_from: Some(time_to_proto(at(5, 2, 0))),
                    started_to: Some(time_to_proto(at(5, 1, 0))),
                    ..Default::default()
                })
                .await
                .map(drop),
            ),
            &["started_to"],
        ),
        (
            "leakage over ten years",
            fields(
                s.partner_leakage(pb::PartnerLeakageRequest {
                    tenant_id: T.into(),
                    min_days: 5000,
                    ..Default::default()
                })
                .await
                .map(drop),
            ),
            &["min_days"],
        ),
        (
            "watch from a garbage position",
            fields(s.watch_sla(watch_req("garbage")).await.map(drop)),
            &["from_position"],
        ),
        (
            "watch without a tenant",
            fields(s.watch_sla(pb::WatchSlaRequest::default()).await.map(drop)),
            &["tenant_id"],
        ),
    ];
    for (name, (code, got), want) in cases {
        assert_eq!(code, Code::InvalidArgument, "{name}");
        assert_eq!(got, want, "{name}");
    }
    assert_eq!(
        env.end_offsets(&env.log.topic)?,
        vec![0],
        "nothing appended"
    );
    env.cleanup().await
}
