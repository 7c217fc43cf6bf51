//! Every figure can be opened (issue 17 item 8): each lead count of `Velocity`, `Cohorts`,
//! `Reasons` (its `leads`) and `Roi` maps to a `ListLeads` filter (docs/ANALYTICS.md, "Opening a figure") whose
//! leads, over every page, are exactly as many as the figure — over the read models and at
//! a cut of the log (`as_of` and `known_at`), the list asked at the same cut. (`Funnel` and
//! `RevenueEquation` are opened the same way in `revenue_equation.rs`.)

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeDelta, Utc};
use leadledger_api::convert::time_to_proto;
use leadledger_api::pb::attribution_service_client::AttributionServiceClient;
use leadledger_api::pb::event::Payload as P;
use leadledger_api::pb::{self, query_service_client::QueryServiceClient};
use leadledger_domain::{Cut, Stage};
use leadledger_e2e::events::{at, captured, event, mql};
use leadledger_e2e::workload::{quarter_told_in_two, TENANT as T};
use leadledger_e2e::{append, TestEnv};
use tonic::transport::Channel;

const SEED: u64 = 67;
const LEADS: usize = 900;

fn ts(t: DateTime<Utc>) -> Option<prost_types::Timestamp> {
    Some(time_to_proto(t))
}

fn days(n: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration {
        seconds: n * 86_400,
        nanos: 0,
    })
}

/// The figure's leads: every page of `ListLeads` with `filter`, at `cut`.
async fn count(
    q: &mut QueryServiceClient<Channel>,
    cut: &Cut,
    filter: &pb::ListLeadsRequest,
) -> anyhow::Result<i64> {
    let mut r = filter.clone();
    r.tenant_id = T.into();
    r.page_size = 1000;
    r.as_of = cut.as_of.and_then(ts);
    r.known_at = cut.known_at.and_then(ts);
    let mut n = 0;
    loop {
        let page = q.list_leads(r.clone()).await?.into_inner();
        n += page.leads.len() as i64;
        if page.next_page_token.is_empty() {
            return Ok(n);
        }
        r.page_token = page.next_page_token;
    }
}

/// Opens every `Velocity` figure that counts leads, grouped by channel and owner team:
/// `entered`, `advanced_within_window` and `open_stays` (a lead has one open stay, in its
/// current stage). Returns how many figures were opened.
async fn velocity(
    q: &mut QueryServiceClient<Channel>,
    cut: &Cut,
    at: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let v = q
        .velocity(pb::VelocityRequest {
            tenant_id: T.into(),
            group_by: vec![
                pb::LeadDimension::Channel as i32,
                pb::LeadDimension::OwnerTeam as i32,
            ],
            window: days(30),
            at: ts(at),
            as_of: cut.as_of.and_then(ts),
            known_at: cut.known_at.and_then(ts),
            ..Default::default()
        })
        .await?
        .into_inner();
    let mut opened = 0;
    for g in &v.groups {
        let group = pb::ListLeadsRequest {
            channel: g.key[0].clone(),
            owner_team: g.key[1].clone(),
            ..Default::default()
        };
        if g.key.iter().any(String::is_empty) {
            continue; // "any" is no filter: such a group has none (docs/ANALYTICS.md)
        }
        for s in &g.stages {
            let what = format!("velocity {:?} {}", g.key, s.stage);
            let stage = Stage::from_number(s.stage).expect("a stage");
            let open = pb::ListLeadsRequest {
                stages: vec![s.stage],
                ..group.clone()
            };
            assert_eq!(count(q, cut, &open).await?, s.open_stays, "{what}: open");
            opened += 1;
            if stage.rank().is_none_or(|r| r >= 5) {
                continue;
            }
            let entered = pb::ListLeadsRequest {
                entered: s.stage,
                ..group.clone()
            };
            assert_eq!(count(q, cut, &entered).await?, s.entered, "{what}: entered");
            let advanced = pb::ListLeadsRequest {
                advanced_within: days(30),
                ..entered
            };
            assert_eq!(
                count(q, cut, &advanced).await?,
                s.advanced_within_window,
                "{what}: advanced"
            );
            opened += 2;
        }
    }
    Ok(opened)
}

/// The first instant of month `YYYY-MM` and of the next.
fn month(name: &str) -> (DateTime<Utc>, DateTime<Utc>) {
    let first = NaiveDate::parse_from_str(&format!("{name}-01"), "%Y-%m-%d").expect("a month");
    let next = first + Months::new(1);
    let t = |d: NaiveDate| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    (t(first), t(next))
}

/// Opens every monthly cohort by segment: its leads, and sampled weeks of every curve.
async fn cohorts(
    q: &mut QueryServiceClient<Channel>,
    cut: &Cut,
    at: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let c = q
        .cohorts(pb::CohortsRequest {
            tenant_id: T.into(),
            group_by: vec![pb::LeadDimension::Segment as i32],
            weeks: 12,
            at: ts(at),
            as_of: cut.as_of.and_then(ts),
            known_at: cut.known_at.and_then(ts),
            ..Default::default()
        })
        .await?
        .into_inner();
    let mut opened = 0;
    for cohort in &c.cohorts {
        let segment = match cohort.key[0].as_str() {
            "KA" => pb::Segment::Ka,
            "SMB" => pb::Segment::Smb,
            _ => continue,
        };
        let (from, to) = month(&cohort.cohort);
        let base = pb::ListLeadsRequest {
            segment: segment as i32,
            captured_from: ts(from),
            captured_to: ts(to),
            ..Default::default()
        };
        let what = format!("cohort {} {}", cohort.cohort, cohort.key[0]);
        assert_eq!(count(q, cut, &base).await?, cohort.leads, "{what}");
        opened += 1;
        for curve in &cohort.curves {
            for w in [0usize, 1, 3, 11] {
                let r = pb::ListLeadsRequest {
                    reached: curve.stage,
                    reached_within: days(7 * (w as i64 + 1)),
                    ..base.clone()
                };
                assert_eq!(
                    count(q, cut, &r).await?,
                    curve.reached[w],
                    "{what}: stage {} week {w}",
                    curve.stage
                );
                opened += 1;
            }
        }
    }
    Ok(opened)
}

/// Opens every ROI group's leads, MQLs, SQLs and won deals.
async fn roi(
    q: &mut QueryServiceClient<Channel>,
    a: &mut AttributionServiceClient<Channel>,
    cut: &Cut,
    period: (DateTime<Utc>, DateTime<Utc>),
) -> anyhow::Result<usize> {
    let r = a
        .roi(pb::RoiRequest {
            tenant_id: T.into(),
            period_from: ts(period.0),
            period_to: ts(period.1),
            currency: "CNY".into(),
            as_of: cut.as_of.and_then(ts),
            known_at: cut.known_at.and_then(ts),
            ..Default::default()
        })
        .await?
        .into_inner();
    let mut opened = 0;
    for g in r.groups.iter().filter(|g| !g.value.is_empty()) {
        let base = pb::ListLeadsRequest {
            channel: g.value.clone(),
            captured_from: ts(period.0),
            captured_to: ts(period.1),
            ..Default::default()
        };
        let reached = |stage: pb::Stage, currency: &str| pb::ListLeadsRequest {
            reached: stage as i32,
            signed_currency: currency.into(),
            ..base.clone()
        };
        let what = format!("roi {}", g.value);
        assert_eq!(count(q, cut, &base).await?, g.leads, "{what}: leads");
        let mql = reached(pb::Stage::Mql, "");
        assert_eq!(count(q, cut, &mql).await?, g.mql, "{what}: mql");
        let sql = reached(pb::Stage::Sql, "");
        assert_eq!(count(q, cut, &sql).await?, g.sql, "{what}: sql");
        let won = reached(pb::Stage::Signed, "CNY");
        assert_eq!(count(q, cut, &won).await?, g.won, "{what}: won");
        opened += 4;
    }
    Ok(opened)
}

/// Opens every `Reasons` count to its leads (`leads`: a lead with two such exits is one):
/// by channel and rep, and by exit month for the valuable leads that did not convert.
async fn reasons(q: &mut QueryServiceClient<Channel>, cut: &Cut) -> anyhow::Result<usize> {
    use pb::ExitDimension as X;
    let mut opened = 0;
    for (group_by, reached) in [
        (vec![X::Channel, X::Rep], None),
        (vec![X::ExitMonth, X::Team], Some(pb::Stage::Sql)),
    ] {
        let r = q
            .reasons(pb::ReasonsRequest {
                tenant_id: T.into(),
                group_by: group_by.iter().map(|d| *d as i32).collect(),
                reached: reached.map_or(0, |s| s as i32),
                as_of: cut.as_of.and_then(ts),
                known_at: cut.known_at.and_then(ts),
                ..Default::default()
            })
            .await?
            .into_inner();
        let mut twice = 0;
        for g in r
            .groups
            .iter()
            .filter(|g| g.key.iter().all(|k| !k.is_empty()))
        {
            for reason in &g.reasons {
                let mut exited = pb::ExitFilter {
                    kind: g.kind,
                    code: reason.code.clone(),
                    reached_at_least: reached.map_or(0, |s| s as i32),
                    ..Default::default()
                };
                let mut filter = pb::ListLeadsRequest::default();
                if reached.is_none() {
                    filter.channel = g.key[0].clone();
                    exited.rep_id = g.key[1].clone();
                } else {
                    let (from, to) = month(&g.key[0]);
                    (exited.exited_from, exited.exited_to) = (ts(from), ts(to));
                    exited.team = g.key[1].clone();
                }
                filter.exited = Some(exited);
                let what = format!("reasons {:?} {} {}", g.key, g.kind, reason.code);
                assert_eq!(count(q, cut, &filter).await?, reason.leads, "{what}");
                twice += reason.exits - reason.leads;
                opened += 1;
            }
        }
        println!("{cut:?} reasons by {group_by:?}: {twice} exits of a lead already counted");
        if cut.is_live() && reached.is_none() {
            assert!(
                twice >= 1,
                "L-twice's second exit is one more exit, no more leads"
            );
        }
    }
    Ok(opened)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_lead_count_opens_to_as_many_leads_live_and_at_a_cut() -> anyhow::Result<()> {
    let env = TestEnv::start(3).await?;
    let told = quarter_told_in_two(&env, SEED, LEADS).await?;
    // A lead recycled twice for the same reason by the same rep: two exits, one lead (told
    // after `known_at`, so only the live answer has it).
    let recycled = |src: &str, day: u32| {
        event(
            "L-twice",
            "crm",
            src,
            at(5, day, 9),
            P::Recycled(pb::Recycled {
                code: pb::RecycleReason::Stale as i32,
                rep_id: "rep-twice".into(),
                ..Default::default()
            }),
        )
    };
    let twice = vec![
        captured("L-twice", "tw-1", at(5, 4, 9), "webinar"),
        mql("L-twice", "tw-2", at(5, 4, 10)),
        recycled("tw-3", 10),
        mql("L-twice", "tw-4", at(5, 12, 9)),
        recycled("tw-5", 20),
    ];
    append(&mut env.ingest().await?, T, twice).await?;
    env.wait_caught_up(std::time::Duration::from_secs(60))
        .await?;
    let mid = told.occurred[told.occurred.len() / 2];
    let last = *told.occurred.last().expect("events");
    let first = told.occurred[0];
    let day = |t: DateTime<Utc>| t.date_naive().and_hms_opt(0, 0, 0).expect("midnight");
    let period = (
        day(first).and_utc(),
        day(mid).and_utc() + TimeDelta::days(1),
    );
    let mut q = env.query().await?;
    let mut a = AttributionServiceClient::connect(format!("http://{}", env.addr)).await?;
    for cut in [
        Cut::LIVE,
        Cut {
            as_of: Some(mid),
            known_at: Some(told.known_at),
        },
    ] {
        let at = cut.as_of.unwrap_or(last);
        let v = velocity(&mut q, &cut, at).await?;
        let c = cohorts(&mut q, &cut, at).await?;
        let r = roi(&mut q, &mut a, &cut, period).await?;
        let x = reasons(&mut q, &cut).await?;
        println!(
            "{cut:?}: {v} velocity, {c} cohort, {r} ROI and {x} reason figures opened to as \
             many leads (captures from {}-{:02})",
            first.year(),
            first.month()
        );
        assert!(
            v > 20 && c > 20 && r > 20 && x > 20,
            "too few figures to mean anything"
        );
    }
    env.cleanup().await
}
