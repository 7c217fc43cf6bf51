//! Anonymous visitors and `identity_linked` (issue 18 item 3, docs/IDENTITY.md "Anonymous
//! visitors"), against the real broker and PostgreSQL.
//!
//! The yardsticks are ledgers told the same facts otherwise: before its link, a visitor's
//! touches must count nowhere (a ledger never told them); after it, every read model and every
//! attribution credit must be those of a ledger told them under the lead from the start —
//! however late the link and the touches come. A second link to another lead is refused, a
//! merge carries the visitor along with its lead and an unmerge brings it back, and a replay
//! from offset 0 gives the same rows.

use std::time::Duration;

use leadledger_api::pb;
use leadledger_api::pb::identity_service_client::IdentityServiceClient;
use leadledger_e2e::events::{accepted, at, captured, linked, mql, touch, visitor_touch};
use leadledger_e2e::groups::{ledger_figures, SecondProjector};
use leadledger_e2e::{append, assert_same_rows, dump_read_models, TestEnv};

const T: &str = "acme";

/// How a world is told the visitor `ck-1`'s touches.
#[derive(Clone, Copy, PartialEq)]
enum Told {
    /// As a visitor's.
    Anonymous,
    /// Under the lead L-A.
    AsLead,
    /// Not at all.
    Never,
}

/// `ck-1` reads about the product (search, then social) before a webinar sign-up makes it
/// L-A, and comes back through a display ad; `ck-2` visits once and never signs up; L-B is
/// someone else.
fn facts(told: Told) -> Vec<pb::Event> {
    let mut out = vec![
        captured("L-A", "ca", at(3, 20, 9), "webinar"),
        mql("L-A", "ma", at(3, 22, 10)),
        accepted("L-A", "aa", at(3, 24, 11), "rep-07"),
        touch("L-B", "tb", at(3, 11, 9), "email"),
        captured("L-B", "cb", at(3, 21, 9), "website"),
        visitor_touch("ck-2", "v2", at(3, 12, 9), "event"),
    ];
    let anonymous = [
        ("v1", at(3, 10, 9), "sem"),
        ("v2b", at(3, 15, 9), "social"),
        ("v3", at(3, 25, 9), "display"),
    ];
    for (src, when, channel) in anonymous {
        match told {
            Told::Anonymous => out.push(visitor_touch("ck-1", src, when, channel)),
            Told::AsLead => out.push(touch("L-A", src, when, channel)),
            Told::Never => {}
        }
    }
    out
}

/// The rows two ledgers must share ([`ledger_figures`]).
async fn figures(env: &TestEnv) -> anyhow::Result<Vec<String>> {
    ledger_figures(env).await
}

async fn world(told: Told) -> anyhow::Result<TestEnv> {
    let env = TestEnv::start(2).await?;
    let mut ingest = env.ingest().await?;
    append(&mut ingest, T, facts(told)).await?;
    Ok(env)
}

/// The channels of a lead's touch path, in order (as its credits of one conversion list
/// them).
async fn path(env: &TestEnv, lead: &str) -> anyhow::Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT channel FROM attribution_credits WHERE tenant_id = $1 AND lead_id = $2 \
         AND conversion = (SELECT min(conversion) FROM attribution_credits \
                           WHERE tenant_id = $1 AND lead_id = $2) \
         AND level = 'contact' ORDER BY touch_index",
    )
    .bind(T)
    .bind(lead)
    .fetch_all(&env.store.pool)
    .await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_makes_a_visitors_touches_its_leads_however_late() -> anyhow::Result<()> {
    let mut env = world(Told::Anonymous).await?;
    let never = world(Told::Never).await?;
    let as_lead = world(Told::AsLead).await?;
    let want_unlinked = figures(&never).await?;
    never.cleanup().await?;

    // Unlinked, the visitors are no leads: nothing counts their touches.
    assert_same_rows(&figures(&env).await?, &want_unlinked, "before the link");
    let visitor_rows: i64 =
        sqlx::query_scalar("SELECT count(*) FROM leads WHERE lead_id LIKE '~visitor/%'")
            .fetch_one(&env.store.pool)
            .await?;
    assert_eq!(visitor_rows, 0);

    // The link comes last (the form fill's cookie, told by a later sync): the whole path is
    // re-derived, first touch included.
    let before_link = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut ingest = env.ingest().await?;
    append(
        &mut ingest,
        T,
        vec![linked("ck-1", "L-A", "k1", at(3, 20, 9))],
    )
    .await?;
    let want_linked = figures(&as_lead).await?;
    assert_same_rows(&figures(&env).await?, &want_linked, "after the link");
    // The path to the conversion: the two anonymous visits, then the sign-up.
    assert_eq!(path(&env, "L-A").await?, ["sem", "social", "webinar"]);

    // At a cut known before the link, L-A is its own three facts; after it, with the
    // visitor's three touches (the fold of the cut log, docs/ANALYTICS.md).
    let mut q = env.query().await?;
    for (known_at, want) in [(before_link, 3), (chrono::Utc::now(), 6)] {
        let leads = q
            .list_leads(pb::ListLeadsRequest {
                tenant_id: T.into(),
                known_at: Some(leadledger_api::convert::time_to_proto(known_at)),
                ..Default::default()
            })
            .await?
            .into_inner()
            .leads;
        let mut ids: Vec<(&str, u32)> = leads
            .iter()
            .map(|l| (l.lead_id.as_str(), l.event_count))
            .collect();
        ids.sort();
        assert_eq!(ids, [("L-A", want), ("L-B", 2)], "known at {known_at}");
    }

    // A later touch of the visitor, from before the sign-up, lands in L-A's path too.
    let late = visitor_touch("ck-1", "v4", at(3, 18, 9), "partner");
    append(&mut ingest, T, vec![late]).await?;
    let mut yard = as_lead.ingest().await?;
    append(
        &mut yard,
        T,
        vec![touch("L-A", "v4", at(3, 18, 9), "partner")],
    )
    .await?;
    assert_same_rows(
        &figures(&env).await?,
        &figures(&as_lead).await?,
        "a late touch",
    );

    // A visitor is one person: linking it to L-B too is refused, and changes nothing.
    let ack = append(
        &mut ingest,
        T,
        vec![linked("ck-1", "L-B", "k2", at(3, 26, 9))],
    )
    .await?;
    let want = figures(&as_lead).await?;
    assert_same_rows(&figures(&env).await?, &want, "a second link");
    let decisions: Vec<(String, bool, String)> = sqlx::query_as(
        "SELECT survivor_id, granted, refusal FROM identity_decisions \
         WHERE tenant_id = $1 AND kind = 'link' ORDER BY log_offset",
    )
    .bind(T)
    .fetch_all(&env.store.pool)
    .await?;
    assert_eq!(decisions.len(), 2, "{decisions:?}");
    assert_eq!((decisions[0].0.as_str(), decisions[0].1), ("L-A", true));
    assert_eq!((decisions[1].0.as_str(), decisions[1].1), ("L-B", false));
    assert!(
        decisions[1].2.contains("linked to lead L-A"),
        "{}",
        decisions[1].2
    );

    // A link alone makes no lead: a lead the ledger has no fact of, a visitor with no touch.
    append(
        &mut ingest,
        T,
        vec![linked("ck-9", "L-NEW", "k9", at(3, 27, 9))],
    )
    .await?;
    assert_same_rows(&figures(&env).await?, &want, "a link alone");

    // GetLead shows the visitor's facts in the lead's timeline, under the visitor's key.
    let a = q
        .get_lead(pb::GetLeadRequest {
            tenant_id: T.into(),
            lead_id: "L-A".into(),
            consistency_token: ack.consistency_token,
        })
        .await?
        .into_inner();
    let from_visitor = a
        .timeline
        .iter()
        .filter(|e| {
            e.event
                .as_ref()
                .is_some_and(|e| e.lead_id == "~visitor/ck-1")
        })
        .count();
    // Four touches, the link and the refused link.
    assert_eq!(from_visitor, 6, "{:?}", a.timeline);
    // L-A's three facts and the four touches (a link is no fact about the lead).
    assert_eq!(a.lead.unwrap().event_count, 7);

    // Merged into L-B, the visitor goes with its lead; unmerged, it comes back.
    let mut ids = IdentityServiceClient::connect(format!("http://{}", env.addr)).await?;
    let merge = pb::MergeLeadsRequest {
        tenant_id: T.into(),
        survivor_id: "L-B".into(),
        merged_ids: vec!["L-A".into()],
        reason: "one person".into(),
        requested_by: "ops@acme.example".into(),
        request_id: "m-1".into(),
    };
    ids.merge_leads(merge).await?;
    figures(&env).await?;
    // One path: the visitor's touches and both leads', in time order, to the conversion.
    assert_eq!(
        path(&env, "L-B").await?,
        ["sem", "email", "social", "partner", "webinar", "website"]
    );
    ids.unmerge_lead(pb::UnmergeLeadRequest {
        tenant_id: T.into(),
        lead_id: "L-A".into(),
        reason: "two people".into(),
        requested_by: "ops@acme.example".into(),
        request_id: "u-1".into(),
    })
    .await?;
    let after = figures(&env).await?;
    assert_same_rows(&after, &want, "after merge and unmerge");
    as_lead.cleanup().await?;

    // A replay from offset 0 decides the same links and gives the same rows.
    let live = dump_read_models(&env.store).await?;
    let replayed = env.replay("visitors-replay").await?;
    assert_same_rows(&dump_read_models(&replayed).await?, &live, "replay");
    env.cleanup().await
}

/// The second projector's connections (`application_name`).
const SECOND: &str = "projector-2";

/// Round `r` of visitor `g`: its visits, its lead's facts and, at round 2, the link, each
/// its own append (small batches on the visitor's and the lead's partitions at once).
fn round(g: usize, r: u32) -> Vec<pb::Event> {
    let (v, l) = (format!("ck-{g}"), format!("L-{g}"));
    let when = at(4, 2 + r, 9 + (g as u32 % 8));
    let visit = |c: &str| visitor_touch(&v, &format!("v{r}-{g}"), at(3, 1 + r, 9), c);
    match r {
        0 => vec![
            visit("sem"),
            captured(&l, &format!("c{g}"), when, "webinar"),
        ],
        1 => vec![visit("social"), mql(&l, &format!("m{g}"), when)],
        2 => vec![
            linked(&v, &l, &format!("k{g}"), when),
            accepted(&l, &format!("a{g}"), when, "rep-03"),
        ],
        _ => vec![
            visit("display"),
            touch(&l, &format!("t{r}-{g}"), when, "email"),
        ],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_projectors_fold_linked_visitors_from_every_partition() -> anyhow::Result<()> {
    const VISITORS: usize = 12;
    let mut env = TestEnv::start(4).await?;
    // Small batches and a second projector in the group: a visitor's partition and its
    // lead's are applied by different transactions at once, while links join them.
    env.stop_projector().await?;
    env.projector_batch_max = 3;
    env.start_projector();
    leadledger_e2e::record_checkpoint_writers(&env.store).await?;
    let second = SecondProjector::start(&env, SECOND).await?;
    second.wait_until_it_applies(&env, T, SECOND).await?;
    let mut ingest = env.ingest().await?;
    for r in 0..5 {
        for g in 0..VISITORS {
            for e in round(g, r) {
                append(&mut ingest, T, vec![e]).await?;
            }
        }
    }
    env.wait_caught_up(Duration::from_secs(60)).await?;
    second.stop().await?;
    assert!(!leadledger_e2e::partitions_moved_by(&env.store, SECOND)
        .await?
        .is_empty());

    // Every lead holds its visitor's visits: the capture, 2 facts, 2 touches of its own and
    // the visitor's 4 visits (rounds 0, 1, 3, 4).
    let counts: Vec<(String, i32)> = sqlx::query_as(
        "SELECT lead_id, event_count FROM leads WHERE tenant_id = $1 AND lead_id NOT LIKE \
         'L-FILL%' ORDER BY lead_id",
    )
    .bind(T)
    .fetch_all(&env.store.pool)
    .await?;
    assert_eq!(counts.len(), VISITORS, "{counts:?}");
    assert!(counts.iter().all(|(_, n)| *n == 9), "{counts:?}");
    // Whatever the interleaving, the rows are those of one projector reading the log once.
    let live = dump_read_models(&env.store).await?;
    let replayed = env.replay("visitors-two-projectors").await?;
    assert_same_rows(
        &dump_read_models(&replayed).await?,
        &live,
        "two projectors vs a replay",
    );
    env.cleanup().await
}
