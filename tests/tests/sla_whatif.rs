//! `SlaWhatIf` end to end (docs/SLA.md, "What-if"): on a simulated quarter with paused
//! clocks, a candidate equal to the live file answers exactly what `SlaReport` reads from the
//! read models; a different candidate answers what the pure evaluation gives over the
//! stored timelines; nothing is written; a bad file or window is refused with the field.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use leadledger_api::convert::time_to_proto;
use leadledger_api::pb::sla_service_client::SlaServiceClient;
use leadledger_api::pb::{self, event::Payload as P};
use leadledger_domain::Event;
use leadledger_e2e::events::{at, event};
use leadledger_e2e::workload::{quarter, TENANT};
use leadledger_e2e::{dump_read_models, violation_fields, TestEnv};
use leadledger_sla::tally::Tally;
use leadledger_sla::{evaluate, PolicySet};
use tonic::transport::Channel;

/// The shipped defaults, written as a file (docs/SLA.md's example less the calendar and
/// routing): the live policies of a service started without a policy file.
const DEFAULTS: &str = r#"
version = 1
[calendar]
time_zone = "UTC"
[[policy]]
id = "mql-follow-up"
start = ["mql_qualified", "handed_off"]
target = ["follow_up_logged"]
allowance = "24h"
business_time = true
stop_on = ["recycled", "disqualified", "sales_rejected"]
[[policy]]
id = "mql-accept-reject"
start = ["mql_qualified"]
target = ["sales_accepted", "sales_rejected"]
allowance = "48h"
business_time = true
stop_on = ["recycled", "disqualified"]
[[policy]]
id = "partner-accept"
start = ["handed_off_to_partner"]
target = ["partner_accepted"]
allowance = "48h"
business_time = false
stop_on = ["recycled", "disqualified", "sales_rejected"]
[[policy]]
id = "sql-poc-start"
start = ["sales_accepted"]
target = ["poc_started"]
allowance = "30d"
business_time = false
stop_on = ["recycled", "disqualified", "signed", "lost"]
[[policy]]
id = "poc-decision"
start = ["poc_started"]
target = ["poc_completed", "signed", "lost"]
allowance = "45d"
business_time = false
"#;

/// A looser follow-up (48 elapsed hours, version 2), no accept/reject clock, and a new
/// policy.
const CANDIDATE: &str = r#"
version = 1
[calendar]
time_zone = "Asia/Shanghai"
[[policy]]
id = "mql-follow-up"
version = 2
start = ["mql_qualified", "handed_off"]
target = ["follow_up_logged"]
allowance = "48h"
business_time = false
stop_on = ["recycled", "disqualified", "sales_rejected"]
[[policy]]
id = "sql-poc-start"
start = ["sales_accepted"]
target = ["poc_started"]
allowance = "30d"
business_time = false
stop_on = ["recycled", "disqualified", "signed", "lost"]
[[policy]]
id = "first-touch-to-mql"
start = ["lead_captured"]
target = ["mql_qualified"]
allowance = "72h"
business_time = true
stop_on = ["disqualified"]
"#;

async fn client(env: &TestEnv) -> anyhow::Result<SlaServiceClient<Channel>> {
    Ok(SlaServiceClient::connect(format!("http://{}", env.addr)).await?)
}

/// Pauses on every third lead of the simulated quarter that reaches MQL, 20 minutes after
/// its MQL: for three days, or (every other one) for good.
fn pauses(seed: u64, leads: usize) -> Vec<pb::Event> {
    let sim = leadledger_sim::generate(&leadledger_sim::SimConfig {
        seed,
        leads,
        tenant: TENANT.into(),
        ..Default::default()
    });
    let mut mqls: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    for e in &sim.deliveries {
        if let (Some(P::MqlQualified(_)), Some(t)) = (&e.payload, &e.occurred_at) {
            let t = leadledger_api::convert::time_from_proto(t).expect("a time");
            mqls.entry(e.lead_id.clone()).or_insert(t);
        }
    }
    let mut out = Vec::new();
    for (n, (lead, mql)) in mqls.iter().enumerate().filter(|(n, _)| n % 3 == 0) {
        let paused = pb::ClockPaused {
            reason: pb::PauseReason::WaitingOnCustomer as i32,
            ..Default::default()
        };
        let from = *mql + chrono::Duration::minutes(20);
        out.push(event(
            lead,
            "crm",
            &format!("p{n}"),
            from,
            P::ClockPaused(paused),
        ));
        if n % 2 != 0 {
            let resumed = P::ClockResumed(pb::ClockResumed::default());
            let to = from + chrono::Duration::days(3);
            out.push(event(lead, "crm", &format!("r{n}"), to, resumed));
        }
    }
    assert!(out.len() > 20, "{} pause facts", out.len());
    out
}

/// The tenant's lead timelines as the projector applied them.
async fn timelines(env: &TestEnv) -> anyhow::Result<BTreeMap<String, Vec<Event>>> {
    let bodies: Vec<(String, serde_json::Value)> =
        sqlx::query_as("SELECT lead_id, body FROM lead_events WHERE tenant_id = $1")
            .bind(TENANT)
            .fetch_all(&env.store.pool)
            .await?;
    let mut out: BTreeMap<String, Vec<Event>> = BTreeMap::new();
    // Spend statements are filed under `~spend/…` keys, not leads.
    for (lead, body) in bodies.into_iter().filter(|(l, _)| !l.starts_with('~')) {
        out.entry(lead)
            .or_default()
            .push(serde_json::from_value(body)?);
    }
    Ok(out)
}

/// Group counts as comparable tuples (the times to target within a microsecond), with the
/// policy versions.
fn counts(g: &pb::SlaReportGroup) -> (String, String, Vec<u32>, [i64; 11]) {
    (
        g.key.clone(),
        g.policy_id.clone(),
        g.policy_versions.clone(),
        [
            g.clocks,
            g.met,
            g.met_late,
            g.breached,
            g.stopped,
            g.stopped_breached,
            g.open,
            g.at_risk,
            g.paused,
            g.measured,
            g.median_seconds_to_target
                .map_or(-1, |s| (s * 1e6).round() as i64),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_candidate_is_evaluated_over_the_timelines_without_touching_the_live_clocks(
) -> anyhow::Result<()> {
    let env = TestEnv::start(3).await?;
    let token = quarter(&env, 19, 400, pauses(19, 400)).await?;
    let mut sla = client(&env).await?;
    let (from, to) = (at(4, 1, 0), at(11, 1, 0));
    let before = dump_read_models(&env.store).await?;
    let offsets = env.end_offsets(&env.log.topic)?;

    for (as_of, group_by) in [
        (at(7, 15, 12), pb::SlaGroupBy::Policy),
        (at(7, 15, 12), pb::SlaGroupBy::Period),
        (at(12, 1, 0), pb::SlaGroupBy::Policy),
    ] {
        let ask = |policy_file: &str| pb::SlaWhatIfRequest {
            tenant_id: TENANT.into(),
            policy_file: policy_file.into(),
            as_of: Some(time_to_proto(as_of)),
            started_from: Some(time_to_proto(from)),
            started_to: Some(time_to_proto(to)),
            group_by: group_by as i32,
            consistency_token: token.clone(),
        };
        // The live file as the candidate: both sides equal SlaReport over the read models.
        let same = sla.sla_what_if(ask(DEFAULTS)).await?.into_inner();
        let report = sla
            .sla_report(pb::SlaReportRequest {
                tenant_id: TENANT.into(),
                as_of: Some(time_to_proto(as_of)),
                started_from: Some(time_to_proto(from)),
                started_to: Some(time_to_proto(to)),
                group_by: group_by as i32,
                ..Default::default()
            })
            .await?
            .into_inner();
        let want: Vec<_> = report.groups.iter().map(counts).collect();
        assert!(!want.is_empty());
        assert_eq!(
            same.groups.iter().map(counts).collect::<Vec<_>>(),
            want,
            "{as_of}"
        );
        assert_eq!(
            same.live_groups.iter().map(counts).collect::<Vec<_>>(),
            want
        );
        assert!(
            same.differences
                .iter()
                .all(|d| d.breaches_change == 0
                    && d.compliance_change_points.is_none_or(|c| c == 0.0))
        );
        if group_by == pb::SlaGroupBy::Policy {
            assert!(
                report.groups.iter().any(|g| g.paused > 0),
                "no paused clock at {as_of}"
            );
        }

        // Another file: what the pure evaluation of each stored timeline gives.
        let got = sla.sla_what_if(ask(CANDIDATE)).await?.into_inner();
        let candidate = PolicySet::from_toml(CANDIDATE)?;
        let mut want: BTreeMap<(String, String), Tally> = BTreeMap::new();
        let lines = timelines(&env).await?;
        for events in lines.values() {
            let seen: Vec<Event> = events
                .iter()
                .filter(|e| e.occurred_at <= as_of)
                .cloned()
                .collect();
            if seen.is_empty() {
                continue;
            }
            let st = leadledger_domain::fold(&seen);
            for c in evaluate(&candidate.policies, &candidate.calendar, &seen, &st, as_of) {
                if c.started_at >= from && c.started_at < to {
                    let key = match group_by {
                        pb::SlaGroupBy::Period => c.started_at.format("%Y-%m").to_string(),
                        _ => c.policy_id.clone(),
                    };
                    want.entry((key, c.policy_id.clone())).or_default().add(&c);
                }
            }
        }
        let want: Vec<_> = want
            .iter()
            .map(|((k, p), t)| (k.clone(), p.clone(), t.clone()))
            .collect();
        assert_eq!(got.groups.len(), want.len(), "{as_of} {group_by:?}");
        for (g, (key, policy, t)) in got.groups.iter().zip(&want) {
            assert_eq!((&g.key, &g.policy_id), (key, policy));
            let version = u32::from(policy == "mql-follow-up") + 1;
            assert_eq!(g.policy_versions, [version], "{key}/{policy}");
            assert_eq!(
                [g.clocks, g.met, g.met_late, g.breached, g.stopped, g.open, g.at_risk, g.paused],
                [t.clocks, t.met, t.met_late, t.breached, t.stopped, t.open, t.at_risk, t.paused],
                "{as_of} {key}/{policy}"
            );
        }
        assert_eq!(
            got.leads,
            i64::try_from(
                lines
                    .values()
                    .filter(|e| e.iter().any(|e| e.occurred_at <= as_of))
                    .count()
            )?
        );
        // Per policy: the two files side by side.
        let ids: Vec<_> = got
            .differences
            .iter()
            .map(|d| d.policy_id.as_str())
            .collect();
        assert_eq!(
            ids,
            [
                "first-touch-to-mql",
                "mql-accept-reject",
                "mql-follow-up",
                "partner-accept",
                "poc-decision",
                "sql-poc-start"
            ]
        );
        let follow = &got.differences[2];
        assert_eq!((follow.live_version, follow.candidate_version), (1, 2));
        let (l, c) = (
            follow.live.as_ref().unwrap(),
            follow.candidate.as_ref().unwrap(),
        );
        assert_eq!(
            follow.breaches_change,
            (c.met_late + c.breached + c.stopped_breached)
                - (l.met_late + l.breached + l.stopped_breached)
        );
        let accept = &got.differences[1];
        assert_eq!(
            (
                accept.live_version,
                accept.candidate_version,
                accept.candidate.as_ref().unwrap().clocks
            ),
            (1, 0, 0)
        );
        assert!(got.differences[0].candidate.as_ref().unwrap().clocks > 0);
    }
    // Nothing written: the read models and the log are as they were.
    assert_eq!(dump_read_models(&env.store).await?, before);
    assert_eq!(env.end_offsets(&env.log.topic)?, offsets);
    env.cleanup().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_candidate_or_window_is_refused_with_the_field() -> anyhow::Result<()> {
    let env = TestEnv::start(1).await?;
    let mut sla = client(&env).await?;
    let ok = pb::SlaWhatIfRequest {
        tenant_id: TENANT.into(),
        policy_file: DEFAULTS.into(),
        started_from: Some(time_to_proto(at(4, 1, 0))),
        started_to: Some(time_to_proto(at(5, 1, 0))),
        ..Default::default()
    };
    let far: DateTime<Utc> = at(4, 1, 0) + chrono::Duration::days(367);
    let cases: Vec<(pb::SlaWhatIfRequest, &str, &str)> = vec![
        (
            pb::SlaWhatIfRequest {
                policy_file: String::new(),
                ..ok.clone()
            },
            "policy_file",
            "required",
        ),
        (
            pb::SlaWhatIfRequest {
                policy_file: DEFAULTS.replace("24h", "24x"),
                ..ok.clone()
            },
            "policy_file",
            "mql-follow-up",
        ),
        (
            pb::SlaWhatIfRequest {
                policy_file: "x".repeat(70_000),
                ..ok.clone()
            },
            "policy_file",
            "64 KiB",
        ),
        (
            pb::SlaWhatIfRequest {
                started_from: None,
                ..ok.clone()
            },
            "started_from",
            "required",
        ),
        (
            pb::SlaWhatIfRequest {
                started_to: Some(time_to_proto(far)),
                ..ok.clone()
            },
            "started_to",
            "366 days",
        ),
        (
            pb::SlaWhatIfRequest {
                started_to: Some(time_to_proto(at(3, 1, 0))),
                ..ok.clone()
            },
            "started_to",
            "after started_from",
        ),
        (
            pb::SlaWhatIfRequest {
                as_of: Some(time_to_proto(at(3, 1, 0))),
                ..ok.clone()
            },
            "started_from",
            "after as_of",
        ),
    ];
    for (req, field, words) in cases {
        let err = sla.sla_what_if(req).await.expect_err(field);
        assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err:?}");
        assert_eq!(violation_fields(&err), [field], "{err:?}");
        assert!(
            err.message().contains(words) || format!("{err:?}").contains(words),
            "{err:?}"
        );
    }
    // The valid request answers (no leads yet).
    let empty = sla.sla_what_if(ok).await?.into_inner();
    assert_eq!((empty.leads, empty.groups.len()), (0, 0));
    env.cleanup().await
}
