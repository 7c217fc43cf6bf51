//! Merge and unmerge (issue 18, docs/IDENTITY.md), against the real broker and PostgreSQL.
//!
//! The yardstick is a second ledger told the same facts with the merged leads' facts filed
//! under the survivor from the start: after a merge every read model — leads, stages, SLA
//! clocks, funnel cells, attribution credits — must be that ledger's, and after the unmerge
//! exactly what it was before the merge. The chain A←B, A←C, unmerge B, unmerge C is walked,
//! a fact arriving on a merged lead's own partition lands in the group, and a replay from
//! offset 0 gives the same rows.

use std::time::Duration;

use leadledger_api::pb;
use leadledger_api::pb::identity_service_client::IdentityServiceClient;
use leadledger_e2e::events::{accepted, at, captured, mql, signed, touch};
use leadledger_e2e::groups::{ledger_figures, SecondProjector};
use leadledger_e2e::{
    append, assert_same_rows, dump_read_models, partitions_moved_by, record_checkpoint_writers,
    violation_fields, TestEnv,
};
use tonic::transport::Channel;
use tonic::Code;
use tonic_types::StatusExt as _;

const T: &str = "acme";

/// The facts of three leads of one person: A (a webinar sign-up that went nowhere), B (a
/// website form, qualified and accepted), C (an event badge scan, signed). `id` files each
/// lead's facts under a lead id.
fn facts(id: impl Fn(&str) -> String) -> Vec<pb::Event> {
    let (a, b, c) = (id("L-A"), id("L-B"), id("L-C"));
    vec![
        touch(&a, "t1", at(3, 20, 9), "sem"),
        captured(&a, "ca", at(4, 1, 9), "webinar"),
        touch(&b, "t2", at(4, 2, 9), "social"),
        captured(&b, "cb", at(4, 3, 10), "website"),
        mql(&b, "mb", at(4, 6, 10)),
        accepted(&b, "ab", at(4, 7, 11), "rep-07"),
        touch(&c, "t3", at(4, 9, 9), "event"),
        captured(&c, "cc", at(4, 10, 9), "event"),
        mql(&c, "mc", at(4, 12, 10)),
        signed(&c, "sc", at(5, 20, 12), 9_900_000),
    ]
}

/// The rows two ledgers must share ([`ledger_figures`]).
async fn figures(env: &TestEnv) -> anyhow::Result<Vec<String>> {
    ledger_figures(env).await
}

/// A ledger told `facts(id)`.
async fn world(id: impl Fn(&str) -> String) -> anyhow::Result<TestEnv> {
    let env = TestEnv::start(2).await?;
    let mut ingest = env.ingest().await?;
    append(&mut ingest, T, facts(id)).await?;
    Ok(env)
}

fn merge(survivor: &str, merged: &[&str], request_id: &str) -> pb::MergeLeadsRequest {
    pb::MergeLeadsRequest {
        tenant_id: T.into(),
        survivor_id: survivor.into(),
        merged_ids: merged.iter().map(|m| m.to_string()).collect(),
        reason: "same e-mail in CRM and marketing automation".into(),
        requested_by: "ops@acme.example".into(),
        request_id: request_id.into(),
    }
}

fn unmerge(lead: &str, request_id: &str) -> pb::UnmergeLeadRequest {
    pb::UnmergeLeadRequest {
        tenant_id: T.into(),
        lead_id: lead.into(),
        reason: "two people after all".into(),
        requested_by: "ops@acme.example".into(),
        request_id: request_id.into(),
    }
}

async fn client(env: &TestEnv) -> anyhow::Result<IdentityServiceClient<Channel>> {
    Ok(IdentityServiceClient::connect(format!("http://{}", env.addr)).await?)
}

fn refusal_reason(s: &tonic::Status) -> String {
    s.get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merged_leads_read_as_one_and_an_unmerge_restores_them() -> anyhow::Result<()> {
    let mut env = world(|l| l.to_string()).await?;
    let apart = figures(&env).await?;
    // The yardsticks: B and C told as A; C alone told as A.
    let all_as_a = world(|l| if l == "L-A" { l } else { "L-A" }.to_string()).await?;
    let c_as_a = world(|l| if l == "L-C" { "L-A" } else { l }.to_string()).await?;
    let (want_abc, want_ac) = (figures(&all_as_a).await?, figures(&c_as_a).await?);
    all_as_a.cleanup().await?;
    c_as_a.cleanup().await?;

    let funnel = |known_at: Option<chrono::DateTime<chrono::Utc>>| pb::FunnelRequest {
        tenant_id: T.into(),
        group_by: vec![pb::FunnelDimension::Channel as i32],
        known_at: known_at.map(leadledger_api::convert::time_to_proto),
        ..Default::default()
    };
    let mut q = env.query().await?;
    let funnel_apart = q.funnel(funnel(None)).await?.into_inner().groups;
    let before_merges = chrono::Utc::now();

    let mut ids = client(&env).await?;
    let first = ids
        .merge_leads(merge("L-A", &["L-B"], "m-1"))
        .await?
        .into_inner()
        .decision
        .unwrap();
    assert_eq!(
        (
            first.kind.as_str(),
            first.survivor_id.as_str(),
            &first.lead_ids[..]
        ),
        ("merge", "L-A", &["L-B".to_string()][..])
    );
    ids.merge_leads(merge("L-A", &["L-C"], "m-2")).await?;
    assert_same_rows(&figures(&env).await?, &want_abc, "A←B, A←C");
    // The funnel read from the cells is the merged one; at a cut known before the merges, the
    // leads are apart again (the fold of the cut log).
    let merged = q.funnel(funnel(None)).await?.into_inner().groups;
    assert_ne!(merged, funnel_apart);
    let at_merge = q
        .funnel(funnel(Some(chrono::Utc::now())))
        .await?
        .into_inner()
        .groups;
    assert_eq!(at_merge, merged, "a cut after the merges");
    let then = q
        .funnel(funnel(Some(before_merges)))
        .await?
        .into_inner()
        .groups;
    assert_eq!(then, funnel_apart, "a cut before the merges");

    // A retry is the first decision, and appends nothing.
    let ends: i64 = env.end_offsets(&env.log.topic)?.iter().sum();
    let again = ids
        .merge_leads(merge("L-A", &["L-B"], "m-1"))
        .await?
        .into_inner()
        .decision
        .unwrap();
    assert_eq!(again.intent_id, first.intent_id);
    assert_eq!(env.end_offsets(&env.log.topic)?.iter().sum::<i64>(), ends);

    // Refusals: decided in log order, with the reason; unknown leads and bad fields never
    // reach the log.
    let e = ids
        .merge_leads(merge("L-B", &["L-C"], "m-3"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert_eq!(refusal_reason(&e), "MERGE_REFUSED");
    assert!(e.message().contains("merged into L-A"), "{}", e.message());
    let e = ids.unmerge_lead(unmerge("L-A", "u-0")).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(e.message().contains("not merged"), "{}", e.message());
    let refused_ends: i64 = env.end_offsets(&env.log.topic)?.iter().sum();
    let e = ids
        .merge_leads(merge("L-A", &["L-NOBODY"], ""))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    let e = ids
        .merge_leads(pb::MergeLeadsRequest {
            merged_ids: vec!["L-A".into(), "L-B".into(), "L-B".into(), "~x".into()],
            reason: String::new(),
            requested_by: String::new(),
            ..merge("L-A", &[], "")
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(
        violation_fields(&e),
        [
            "merged_ids[0]",
            "merged_ids[2]",
            "merged_ids[3]",
            "requested_by",
            "reason"
        ]
    );
    assert_eq!(
        env.end_offsets(&env.log.topic)?.iter().sum::<i64>(),
        refused_ends,
        "a refused request appended"
    );

    // The audit: asking for a merged lead answers with its survivor, its timeline and merges.
    let got = q
        .get_lead(pb::GetLeadRequest {
            tenant_id: T.into(),
            lead_id: "L-B".into(),
            consistency_token: String::new(),
        })
        .await?
        .into_inner();
    assert_eq!(got.lead.as_ref().unwrap().lead_id, "L-A");
    assert_eq!(got.merged_lead_id, "L-B");
    assert_eq!(got.timeline.len(), 10);
    let merged: Vec<(&str, &str)> = got
        .merges
        .iter()
        .map(|m| (m.lead_id.as_str(), m.merged_by.as_str()))
        .collect();
    assert_eq!(
        merged,
        [("L-B", "ops@acme.example"), ("L-C", "ops@acme.example")]
    );

    // Unmerge B: as if only C had been merged; then C: as before any merge.
    ids.unmerge_lead(unmerge("L-B", "u-1")).await?;
    assert_same_rows(&figures(&env).await?, &want_ac, "A←C after unmerging B");
    let out = ids
        .unmerge_lead(unmerge("L-C", "u-2"))
        .await?
        .into_inner()
        .decision
        .unwrap();
    assert_eq!(
        (out.kind.as_str(), out.survivor_id.as_str()),
        ("unmerge", "L-A")
    );
    assert_same_rows(&figures(&env).await?, &apart, "after unmerging both");
    let audit: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT lead_id, unmerged_by FROM bi.lead_merges WHERE tenant_id = $1 \
         ORDER BY merged_at",
    )
    .bind(T)
    .fetch_all(&env.store.pool)
    .await?;
    assert_eq!(audit.len(), 2);
    assert!(audit.iter().all(|(_, by)| by.is_some()), "{audit:?}");

    // Merged again, a fact on B's own partition lands in A's timeline.
    ids.merge_leads(merge("L-A", &["L-B"], "m-4")).await?;
    let mut ingest = env.ingest().await?;
    let late = append(
        &mut ingest,
        T,
        vec![touch("L-B", "t4", at(4, 8, 9), "email")],
    )
    .await?;
    let a = q
        .get_lead(pb::GetLeadRequest {
            tenant_id: T.into(),
            lead_id: "L-A".into(),
            consistency_token: late.consistency_token,
        })
        .await?
        .into_inner();
    // A's 2 facts, B's 4 and the late touch.
    assert_eq!(a.timeline.len(), 7);
    assert_eq!(a.lead.unwrap().event_count, 7);
    let b_rows: i64 =
        sqlx::query_scalar("SELECT count(*) FROM leads WHERE tenant_id = $1 AND lead_id = 'L-B'")
            .bind(T)
            .fetch_one(&env.store.pool)
            .await?;
    assert_eq!(b_rows, 0, "a merged lead has no row of its own");

    // A replay from offset 0 decides the same and gives the same rows.
    env.wait_caught_up(Duration::from_secs(60)).await?;
    let live = dump_read_models(&env.store).await?;
    let replayed = env.replay("identity-replay").await?;
    assert_same_rows(&dump_read_models(&replayed).await?, &live, "replay");
    env.cleanup().await
}

/// Facts of round `r` for group `g`: one on the survivor and one on the merged lead, each
/// its own append (small batches on both partitions).
fn round(g: usize, r: u32) -> [pb::Event; 2] {
    let (s, m) = (format!("L-S{g}"), format!("L-M{g}"));
    let when = at(4, 2 + r, 9 + (g as u32 % 8));
    match r {
        0 => [
            captured(&s, &format!("cs{g}"), when, "webinar"),
            captured(&m, &format!("cm{g}"), at(3, 28, 9), "website"),
        ],
        1 => [
            touch(&s, &format!("ts{g}"), when, "sem"),
            mql(&m, &format!("mm{g}"), when),
        ],
        2 => [
            touch(&s, &format!("ts2{g}"), when, "social"),
            accepted(&m, &format!("am{g}"), when, "rep-03"),
        ],
        _ => [
            touch(&s, &format!("ts{r}{g}"), when, "email"),
            touch(&m, &format!("tm{r}{g}"), when, "event"),
        ],
    }
}

/// The second projector's connections (`application_name`).
const SECOND: &str = "projector-2";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_projectors_fold_merged_groups_from_every_partition() -> anyhow::Result<()> {
    const GROUPS: usize = 12;
    let mut env = TestEnv::start(4).await?;
    // Small batches, and a second projector in the group: the survivor's and the merged
    // lead's partitions are applied by different transactions at once.
    env.stop_projector().await?;
    env.projector_batch_max = 3;
    env.start_projector();
    record_checkpoint_writers(&env.store).await?;
    let second = SecondProjector::start(&env, SECOND).await?;

    let mut ingest = env.ingest().await?;
    for g in 0..GROUPS {
        for e in round(g, 0) {
            append(&mut ingest, T, vec![e]).await?;
        }
    }
    // Until the second projector applies a partition (the group is split between them),
    // more facts of other leads.
    second.wait_until_it_applies(&env, T, SECOND).await?;
    env.wait_caught_up(Duration::from_secs(60)).await?;
    // Facts flow on both partitions of every group while the groups are merged, split and
    // merged again.
    let facts = {
        let mut ingest = env.ingest().await?;
        tokio::spawn(async move {
            for r in 1..6 {
                for g in 0..GROUPS {
                    for e in round(g, r) {
                        append(&mut ingest, T, vec![e]).await?;
                    }
                }
            }
            anyhow::Ok(())
        })
    };
    let mut ids = client(&env).await?;
    for g in 0..GROUPS {
        let (s, m) = (format!("L-S{g}"), format!("L-M{g}"));
        ids.merge_leads(merge(&s, &[&m], &format!("a{g}"))).await?;
    }
    for g in (0..GROUPS).step_by(2) {
        ids.unmerge_lead(unmerge(&format!("L-M{g}"), &format!("u{g}")))
            .await?;
    }
    for g in (0..GROUPS).step_by(4) {
        let (s, m) = (format!("L-S{g}"), format!("L-M{g}"));
        ids.merge_leads(merge(&s, &[&m], &format!("b{g}"))).await?;
    }
    facts.await??;
    env.wait_caught_up(Duration::from_secs(60)).await?;
    second.stop().await?;

    // Groups 0, 4, 8 and the odd ones are merged; 2, 6, 10 apart.
    let leads: Vec<String> =
        sqlx::query_scalar("SELECT lead_id FROM leads WHERE tenant_id = $1 ORDER BY lead_id")
            .bind(T)
            .fetch_all(&env.store.pool)
            .await?;
    let apart: Vec<String> = (0..GROUPS)
        .filter(|g| g % 2 == 0 && g % 4 != 0)
        .map(|g| format!("L-M{g}"))
        .collect();
    let fill = leads.iter().filter(|l| l.starts_with("L-FILL")).count();
    assert_eq!(leads.len(), GROUPS + apart.len() + fill, "{leads:?}");
    assert!(apart.iter().all(|m| leads.contains(m)), "{leads:?}");
    // Both projectors applied facts of the groups.
    assert!(!partitions_moved_by(&env.store, SECOND).await?.is_empty());
    // Whatever the interleaving, the rows are those of one projector reading the log once.
    let live = dump_read_models(&env.store).await?;
    let replayed = env.replay("identity-two-projectors").await?;
    assert_same_rows(
        &dump_read_models(&replayed).await?,
        &live,
        "two projectors vs a replay",
    );
    env.cleanup().await
}
