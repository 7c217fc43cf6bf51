//! Policy changes apply to every clock (docs/SLA.md, "Changing the policy file"): after the
//! policies change, the background re-evaluation evaluates every lead's clocks again — leads
//! that get no new fact included — resumably, while the projector keeps applying new facts;
//! the rows it leaves are those of a replay of the log under the new policies.

use std::sync::Arc;
use std::time::Duration;

use leadledger_api::pb::{self, event::Payload as P};
use leadledger_e2e::events::{at, captured, event, mql};
use leadledger_e2e::{append, assert_same_rows, dump_read_models, TestEnv};
use leadledger_projection::Derivations;
use leadledger_sla::{PolicySet, TenantPolicies};
use leadledger_store::reevaluation;
use leadledger_workers::reevaluate;
use tokio_util::sync::CancellationToken;

const T: &str = "acme";
const LEADS: usize = 600;
const WAIT: Duration = Duration::from_secs(90);

const BEFORE: &str = r#"
version = 1

[[policy]]
id = "follow-up"
start = ["mql_qualified"]
target = ["follow_up_logged"]
allowance = "24h"
business_time = false
"#;

/// A longer allowance (version 2) with an escalation step, and a new policy.
const AFTER: &str = r#"
version = 1

[[policy]]
id = "follow-up"
version = 2
start = ["mql_qualified"]
target = ["follow_up_logged"]
allowance = "48h"
business_time = false

  [[policy.escalation]]
  id = "tell"
  on = "breached"
  notify = ["owner", "sales-ops"]

[[policy]]
id = "accept"
start = ["mql_qualified"]
target = ["sales_accepted"]
allowance = "72h"
business_time = false
"#;

fn derive(text: &str) -> anyhow::Result<Arc<Derivations>> {
    Ok(Arc::new(Derivations {
        sla: TenantPolicies::single(PolicySet::from_toml(text)?),
    }))
}

fn follow_up(lead: &str, src: &str, day: u32) -> pb::Event {
    event(
        lead,
        "salesforce",
        src,
        at(3, day, 15),
        P::FollowUpLogged(pb::FollowUpLogged {
            activity_type: pb::ActivityType::Call as i32,
            rep_id: "ann".into(),
            note: "called".into(),
        }),
    )
}

async fn reevaluate(env: &TestEnv, d: &Arc<Derivations>, stop: CancellationToken) {
    reevaluate::run(
        reevaluate::Deps {
            store: env.store.clone(),
            derive: d.clone(),
            step: 7,
        },
        stop,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_clock_is_evaluated_again_with_new_policies_as_a_replay_would() -> anyhow::Result<()>
{
    let mut env = TestEnv::start(2).await?;
    let (before, after) = (derive(BEFORE)?, derive(AFTER)?);
    env.stop_projector().await?;
    env.derive = before.clone();
    env.start_projector();
    let mut ingest = env.ingest().await?;
    let mut events = Vec::new();
    for i in 0..LEADS {
        let lead = format!("L{i:03}");
        events.push(captured(&lead, &format!("c{i}"), at(3, 2, 9), "webinar"));
        events.push(mql(&lead, &format!("m{i}"), at(3, 2, 10)));
        if i % 3 == 0 {
            // 29 h after the MQL: late under 24 h, in time under 48 h.
            events.push(follow_up(&lead, &format!("f{i}"), 3));
        }
    }
    for chunk in events.chunks(500) {
        append(&mut ingest, T, chunk.to_vec()).await?;
    }
    env.wait_caught_up(WAIT).await?;

    // With the policies the clocks were made with, a pass changes no row.
    let rows = dump_read_models(&env.store).await?;
    reevaluate(&env, &before, CancellationToken::new()).await;
    assert_same_rows(
        &dump_read_models(&env.store).await?,
        &rows,
        "a pass with the same policies",
    );
    let st = reevaluation::state(&env.store.pool).await?;
    assert_eq!(st.done_fingerprint, before.sla.clock_fingerprint());
    assert_eq!(
        (st.leads_done, st.leads_total),
        (LEADS as i64, LEADS as i64)
    );

    // New policies: the projector applies new facts with them while the re-evaluation runs,
    // is stopped part-way, and resumes.
    env.stop_projector().await?;
    env.derive = after.clone();
    env.start_projector();
    let stop = CancellationToken::new();
    let task = {
        let (store, after, stop) = (env.store.clone(), after.clone(), stop.clone());
        tokio::spawn(async move {
            reevaluate::run(
                reevaluate::Deps {
                    store,
                    derive: after,
                    step: 7,
                },
                stop,
            )
            .await
        })
    };
    let mut more = Vec::new();
    for i in (1..LEADS).step_by(5) {
        more.push(follow_up(&format!("L{i:03}"), &format!("g{i}"), 5));
    }
    append(&mut ingest, T, more).await?;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let st = reevaluation::state(&env.store.pool).await?;
        if st.pass_fingerprint == after.sla.clock_fingerprint() && st.leads_done >= 50 {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "no progress: {st:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.cancel();
    task.await?;
    let st = reevaluation::state(&env.store.pool).await?;
    assert!(
        st.leads_done < LEADS as i64 && st.done_fingerprint == before.sla.clock_fingerprint(),
        "stopped part-way: {st:?}"
    );
    reevaluate(&env, &after, CancellationToken::new()).await;
    let st = reevaluation::state(&env.store.pool).await?;
    assert_eq!(st.done_fingerprint, after.sla.clock_fingerprint());
    assert_eq!(
        st.leads_done, LEADS as i64,
        "resumed, not restarted: {st:?}"
    );
    env.wait_caught_up(WAIT).await?;

    // Every lead has the new policies' clocks: version 2, the new policy, the next step.
    let counts: (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE policy_id = 'follow-up' AND policy_version = 2), \
           count(*) FILTER (WHERE policy_id = 'follow-up' AND policy_version <> 2), \
           count(*) FILTER (WHERE policy_id = 'accept'), \
           count(*) FILTER (WHERE escalation_step = 'tell') \
         FROM sla_clocks WHERE tenant_id = $1",
    )
    .bind(T)
    .fetch_one(&env.store.pool)
    .await?;
    let running = LEADS - LEADS.div_ceil(3) - (1..LEADS).step_by(5).filter(|i| i % 3 != 0).count();
    assert_eq!(
        counts,
        (LEADS as i64, 0, LEADS as i64, running as i64),
        "(follow-up v2, older, accept, with a step to take)"
    );
    // The same rows as a projection of the whole log under the new policies.
    let live = dump_read_models(&env.store).await?;
    let replayed = env.replay("reevaluation-replay").await?;
    assert_same_rows(
        &dump_read_models(&replayed).await?,
        &live,
        "replay under the new policies",
    );
    env.cleanup().await
}
