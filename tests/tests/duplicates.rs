//! Duplicate candidates and auto-merge (issue 18 item 2, docs/IDENTITY.md), against the real
//! broker and PostgreSQL: leads written many ways pair up by rule and score, pages and
//! filters cut the same list, a merge, an unmerge and an erasure change it as a person would
//! expect; a configured auto-merge rule appends merges decided in log order, never undoes a
//! person's unmerge, and a replay from offset 0 gives the same rows.

use std::collections::BTreeMap;
use std::time::Duration;

use leadledger_api::pb;
use leadledger_api::pb::identity_service_client::IdentityServiceClient;
use leadledger_api::pb::privacy_service_client::PrivacyServiceClient;
use leadledger_domain::identity::matching::Rule;
use leadledger_e2e::events::{at, captured};
use leadledger_e2e::{append, assert_same_rows, dump_read_models, violation_fields, TestEnv};
use leadledger_workers::auto_merge::{self, AutoMergeConfig, AutoMergeRules, Pending};
use tonic::transport::Channel;
use tonic::Code;

const T: &str = "acme";
const BETA: &str = "beta";

/// A capture of `lead` on 2026-04-`day` with this contact at the company `domain`.
fn person(lead: &str, day: u32, email: &str, phone: &str, name: &str, domain: &str) -> pb::Event {
    let mut e = captured(lead, &format!("c-{lead}"), at(4, day, 9), "website");
    if let Some(pb::event::Payload::LeadCaptured(c)) = e.payload.as_mut() {
        c.contact = Some(pb::Contact {
            email: email.into(),
            phone: phone.into(),
            name: name.into(),
            title: "Head of Data".into(),
        });
        if let Some(co) = c.company.as_mut() {
            co.domain = domain.into();
        }
    }
    e
}

/// `(lead a, lead b, rules, score × 1000)`.
type Row = (String, String, Vec<String>, i64);

fn rows(r: &pb::ListDuplicateCandidatesResponse) -> Vec<Row> {
    r.candidates
        .iter()
        .map(|c| {
            (
                c.lead_id_a.clone(),
                c.lead_id_b.clone(),
                c.rules.clone(),
                (c.score * 1000.0).round() as i64,
            )
        })
        .collect()
}

fn row(a: &str, b: &str, rules: &[&str], permille: i64) -> Row {
    (
        a.into(),
        b.into(),
        rules.iter().map(|r| r.to_string()).collect(),
        permille,
    )
}

fn ask(tenant: &str) -> pb::ListDuplicateCandidatesRequest {
    pb::ListDuplicateCandidatesRequest {
        tenant_id: tenant.into(),
        ..Default::default()
    }
}

async fn list(
    c: &mut IdentityServiceClient<Channel>,
    r: pb::ListDuplicateCandidatesRequest,
) -> anyhow::Result<Vec<Row>> {
    Ok(rows(&c.list_duplicate_candidates(r).await?.into_inner()))
}

fn merge(tenant: &str, survivor: &str, merged: &[&str], id: &str) -> pb::MergeLeadsRequest {
    pb::MergeLeadsRequest {
        tenant_id: tenant.into(),
        survivor_id: survivor.into(),
        merged_ids: merged.iter().map(|m| m.to_string()).collect(),
        reason: "same person".into(),
        requested_by: "ops@acme.example".into(),
        request_id: id.into(),
    }
}

fn unmerge(tenant: &str, lead: &str, id: &str) -> pb::UnmergeLeadRequest {
    pb::UnmergeLeadRequest {
        tenant_id: tenant.into(),
        lead_id: lead.into(),
        reason: "two people after all".into(),
        requested_by: "ops@acme.example".into(),
        request_id: id.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn candidates_pair_by_rule_and_follow_merges_unmerges_and_erasure() -> anyhow::Result<()> {
    let env = TestEnv::start(2).await?;
    let mut ingest = env.ingest().await?;
    let mut facts = vec![
        // One person, written three ways (a sub-address, a mobile with and without +86, the
        // name in both orders).
        person(
            "D-1",
            1,
            "Li.Wei+webinar@Acme.com",
            "+86 138 0013 8000",
            "Li Wei",
            "acme.com",
        ),
        person(
            "D-2",
            2,
            "li.wei@acme.com",
            "138-0013-8000",
            "Wei Li",
            "acme.com",
        ),
        // The same mobile from a private address: no employer, so no name rule.
        person("D-3", 3, "lw@gmail.com", "0086 138 0013 8000", "Li Wei", ""),
        // Two of one name at one company; the third shares the first's mailbox.
        person(
            "D-4",
            4,
            "zhang.san@globex.com",
            "",
            "Zhang San",
            "globex.com",
        ),
        person(
            "D-5",
            5,
            "s.zhang@globex.com",
            "",
            "San Zhang",
            "globex.com",
        ),
        person("D-7", 7, "Zhang.San@globex.com", "", "Z. San", "globex.com"),
    ];
    // A role mailbox shared by more leads than any person: no pairs.
    for i in 0..=leadledger_domain::identity::matching::MAX_SHARING {
        facts.push(person(
            &format!("R-{i:02}"),
            8,
            "info@initech.com",
            "",
            "",
            "initech.com",
        ));
    }
    append(&mut ingest, T, facts).await?;
    env.wait_caught_up(Duration::from_secs(60)).await?;

    let mut id = IdentityServiceClient::connect(format!("http://{}", env.addr)).await?;
    let all = vec![
        row("D-1", "D-2", &["email", "phone", "name_company"], 996),
        row("D-4", "D-7", &["email"], 950),
        row("D-1", "D-3", &["phone"], 800),
        row("D-2", "D-3", &["phone"], 800),
        row("D-4", "D-5", &["name_company"], 600),
    ];
    assert_eq!(list(&mut id, ask(T)).await?, all);

    // Pages of two cut the same list.
    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let r = id
            .list_duplicate_candidates(pb::ListDuplicateCandidatesRequest {
                page_size: 2,
                page_token: token.clone(),
                ..ask(T)
            })
            .await?
            .into_inner();
        assert!(r.candidates.len() <= 2);
        paged.extend(rows(&r));
        token = r.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(paged, all);

    // Filters: one lead, one rule, a floor on the score.
    let of_d3 = list(
        &mut id,
        pb::ListDuplicateCandidatesRequest {
            lead_id: "D-3".into(),
            ..ask(T)
        },
    )
    .await?;
    assert_eq!(of_d3, all[2..4].to_vec());
    let by_name = list(
        &mut id,
        pb::ListDuplicateCandidatesRequest {
            rules: vec!["name_company".into()],
            ..ask(T)
        },
    )
    .await?;
    assert_eq!(by_name, vec![all[0].clone(), all[4].clone()]);
    let sure = list(
        &mut id,
        pb::ListDuplicateCandidatesRequest {
            min_score: 0.9,
            ..ask(T)
        },
    )
    .await?;
    assert_eq!(sure, all[..2].to_vec());
    // Another tenant sees none of them.
    assert!(list(&mut id, ask("other")).await?.is_empty());

    // Bad requests name their fields.
    let e = id
        .list_duplicate_candidates(pb::ListDuplicateCandidatesRequest {
            rules: vec!["email".into(), "fuzzy".into()],
            min_score: 1.5,
            page_token: "not-ours".into(),
            page_size: 5000,
            ..ask(T)
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(
        violation_fields(&e),
        ["rules[1]", "min_score", "page_token", "page_size"]
    );

    // A person merges D-2 into D-1: D-2 is no longer a lead of its own.
    id.merge_leads(merge(T, "D-1", &["D-2"], "m-1")).await?;
    env.wait_caught_up(Duration::from_secs(60)).await?;
    assert_eq!(
        list(&mut id, ask(T)).await?,
        vec![all[1].clone(), all[2].clone(), all[4].clone()]
    );
    // Asked for the merged lead, the survivor's pairs answer (as GetLead does).
    assert_eq!(
        list(
            &mut id,
            pb::ListDuplicateCandidatesRequest {
                lead_id: "D-2".into(),
                ..ask(T)
            }
        )
        .await?,
        vec![all[2].clone()]
    );
    // And splits it off again: two people, so the pair is not offered again unless asked.
    id.unmerge_lead(unmerge(T, "D-2", "u-1")).await?;
    env.wait_caught_up(Duration::from_secs(60)).await?;
    assert_eq!(list(&mut id, ask(T)).await?, all[1..].to_vec());
    assert_eq!(
        list(
            &mut id,
            pb::ListDuplicateCandidatesRequest {
                include_separated: true,
                ..ask(T)
            }
        )
        .await?,
        all
    );

    // Erasing D-7's contact erases its keys: its pair is gone.
    let mut privacy = PrivacyServiceClient::connect(format!("http://{}", env.addr)).await?;
    privacy
        .erase_contact(pb::EraseContactRequest {
            tenant_id: T.into(),
            lead_id: "D-7".into(),
            requested_by: "dpo@acme.example".into(),
            reason: "GDPR art. 17".into(),
            request_id: "e-1".into(),
        })
        .await?;
    env.wait_caught_up(Duration::from_secs(60)).await?;
    let keys: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM lead_match_keys WHERE tenant_id = $1 AND lead_id = 'D-7'",
    )
    .bind(T)
    .fetch_one(&env.store.pool)
    .await?;
    assert_eq!(keys, 0, "an erased contact keeps no duplicate key");
    assert_eq!(
        list(&mut id, ask(T)).await?,
        vec![all[2].clone(), all[3].clone(), all[4].clone()]
    );
    env.cleanup().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auto_merge_rule_merges_in_log_order_and_never_undoes_a_person() -> anyhow::Result<()> {
    let mut env = TestEnv::start(2).await?;
    let mut ingest = env.ingest().await?;
    append(
        &mut ingest,
        BETA,
        vec![
            person("B-1", 1, "a.b@beta.io", "", "Ann Bell", "beta.io"),
            person("B-2", 2, "A.B+promo@beta.io", "", "", "beta.io"),
            person("B-3", 3, "a.b@beta.io", "+44 20 7946 0018", "", "beta.io"),
            // Shares only B-3's phone: phone is no auto-merge rule here.
            person("B-4", 4, "bell@home.example", "020 7946 0018", "", ""),
        ],
    )
    .await?;
    // Acme's duplicates are left to people.
    append(
        &mut ingest,
        T,
        vec![
            person("A-1", 1, "x@acme.com", "", "", "acme.com"),
            person("A-2", 2, "x@acme.com", "", "", "acme.com"),
        ],
    )
    .await?;
    env.wait_caught_up(Duration::from_secs(60)).await?;

    let deps = auto_merge::Deps {
        store: env.store.clone(),
        producer: leadledger_log::EventProducer::new(&env.log)?,
        cfg: AutoMergeConfig {
            rules: AutoMergeRules {
                default: vec![],
                tenants: BTreeMap::from([(BETA.to_string(), vec![Rule::Email])]),
            },
            tick: Duration::from_millis(50),
        },
    };
    // A second worker asking (before or after the first's merge is decided) adds no fact.
    assert_eq!(auto_merge::tick(&deps, &mut Pending::new()).await?, 1);
    assert!(auto_merge::tick(&deps, &mut Pending::new()).await? <= 1);
    env.wait_caught_up(Duration::from_secs(60)).await?;
    let decisions: Vec<(String, Vec<String>, String, String, bool)> = sqlx::query_as(
        "SELECT survivor_id, lead_ids, why, requested_by, granted FROM identity_decisions ORDER BY log_offset",
    )
    .fetch_all(&env.store.pool)
    .await?;
    assert_eq!(
        decisions,
        vec![(
            "B-1".to_string(),
            vec!["B-2".to_string(), "B-3".to_string()],
            "auto-merge rule email".to_string(),
            "leadledger.auto_merge".to_string(),
            true
        )]
    );
    let mut query = env.query().await?;
    let lead = query
        .get_lead(pb::GetLeadRequest {
            tenant_id: BETA.into(),
            lead_id: "B-3".into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(lead.merged_lead_id, "B-3");
    assert_eq!(lead.lead.as_ref().map(|l| l.lead_id.as_str()), Some("B-1"));
    assert_eq!(lead.merges.len(), 2);
    assert!(lead
        .merges
        .iter()
        .all(|m| m.merge_reason == "auto-merge rule email"));
    // Nothing left to merge: the next tick asks for nothing.
    assert_eq!(auto_merge::tick(&deps, &mut Pending::new()).await?, 0);

    // A person splits B-3 off: the rule never merges it back.
    let mut id = IdentityServiceClient::connect(format!("http://{}", env.addr)).await?;
    id.unmerge_lead(unmerge(BETA, "B-3", "u-1")).await?;
    env.wait_caught_up(Duration::from_secs(60)).await?;
    assert_eq!(auto_merge::tick(&deps, &mut Pending::new()).await?, 0);
    assert_eq!(
        list(&mut id, ask(BETA)).await?,
        vec![row("B-3", "B-4", &["phone"], 800)]
    );
    // A rule's request that would join B-3 again (a worker that read before the unmerge) is
    // refused in log order.
    let e = id
        .merge_leads(pb::MergeLeadsRequest {
            requested_by: "leadledger.auto_merge".into(),
            ..merge(BETA, "B-1", &["B-3"], "late-rule")
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("lead B-3 was split from B-1"), "{e:?}");
    // A newcomer sharing the address of both is merged into B-1; B-3 stays apart.
    append(
        &mut ingest,
        BETA,
        vec![person("B-0", 5, "a.b+new@beta.io", "", "", "beta.io")],
    )
    .await?;
    env.wait_caught_up(Duration::from_secs(60)).await?;
    assert_eq!(auto_merge::tick(&deps, &mut Pending::new()).await?, 1);
    env.wait_caught_up(Duration::from_secs(60)).await?;
    for (asked, read_as) in [("B-0", "B-1"), ("B-3", "B-3")] {
        let got = query
            .get_lead(pb::GetLeadRequest {
                tenant_id: BETA.into(),
                lead_id: asked.into(),
                ..Default::default()
            })
            .await?
            .into_inner();
        assert_eq!(got.lead.map(|l| l.lead_id), Some(read_as.to_string()));
    }
    assert_eq!(auto_merge::tick(&deps, &mut Pending::new()).await?, 0);

    // Acme's pair is still only a candidate.
    assert_eq!(
        list(&mut id, ask(T)).await?,
        vec![row("A-1", "A-2", &["email"], 950)]
    );

    // A replay from offset 0 decides the same and writes the same keys (only where a
    // contact changed, yet the same rows).
    let live = dump_read_models(&env.store).await?;
    let replayed = env.replay("auto-merge").await?;
    assert_same_rows(&dump_read_models(&replayed).await?, &live, "replay");
    assert!(
        live.iter().any(|r| r.starts_with("lead_match_keys: ")),
        "the keys are among the rows compared"
    );
    env.cleanup().await
}
