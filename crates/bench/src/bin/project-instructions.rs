//! `project-instructions`: the projector's pure work on a fixed workload, for counting
//! instructions under `valgrind --tool=callgrind` (which counts the same total for the same
//! binary and inputs, whatever else the machine does), before and after a change to the
//! fold or the projection's row derivation.
//!
//! A simulated quarter (seed and size fixed by the arguments) is converted to domain events
//! as ingest would (deterministic ids), then projected in batches of `--batch` events in
//! delivery order, each batch with the stored timelines of the leads it touches, as the
//! projector does. Prints the events, batches and rows so two runs can be checked to have
//! done the same work.
//!
//! ```text
//! cargo build --release -p leadledger-bench --bin project-instructions
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out \
//!   target/release/project-instructions --leads 2000
//! ```

use std::collections::{HashMap, HashSet};

use clap::Parser;
use leadledger_api::convert::{event_from_proto, Mode};
use leadledger_domain::{ids, Violations};
use leadledger_projection::{project, Batch, Derivations, Logged};

#[derive(Parser)]
struct Args {
    /// Leads of the simulated quarter.
    #[arg(long, default_value_t = 2000)]
    leads: usize,
    /// Seed of the simulated quarter.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Events per batch.
    #[arg(long, default_value_t = 500)]
    batch: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let sim = leadledger_sim::generate(&leadledger_sim::SimConfig {
        seed: args.seed,
        leads: args.leads,
        tenant: "bench".into(),
        ..Default::default()
    });
    let mut logged = Vec::with_capacity(sim.deliveries.len());
    for (offset, e) in sim.deliveries.iter().enumerate() {
        let mut v = Violations::default();
        let Some(mut d) = event_from_proto(e, Mode::Request, "", &mut v) else {
            anyhow::bail!("a simulated event does not convert: {v:?}");
        };
        d.event_id = ids::source_event_id(&d.tenant_id, &d.source.system, &d.source.event_id);
        logged.push(Logged {
            partition: 0,
            offset: i64::try_from(offset)?,
            event: d,
        });
    }
    let derive = Derivations::default();
    let mut stored: HashMap<String, Vec<Logged>> = HashMap::new();
    let mut known = HashSet::new();
    let (mut batches, mut leads, mut transitions, mut clocks) = (0, 0, 0, 0);
    for chunk in logged.chunks(args.batch.max(1)) {
        // Duplicates are dropped before projection (the store's primary key does it).
        let new: Vec<&Logged> = chunk
            .iter()
            .filter(|l| known.insert(l.event.event_id))
            .collect();
        let mut touched: Vec<&str> = new.iter().map(|l| l.event.lead_id.as_str()).collect();
        touched.sort_unstable();
        touched.dedup();
        let before: Vec<Logged> = touched
            .iter()
            .flat_map(|lead| stored.get(*lead).into_iter().flatten().cloned())
            .collect();
        let rows = project(
            Batch {
                new: &new,
                stored: before,
                granted: Default::default(),
                regroup: Default::default(),
            },
            &derive,
        );
        batches += 1;
        leads += rows.leads.len();
        transitions += rows
            .stages
            .iter()
            .map(|s| s.transitions.len())
            .sum::<usize>();
        clocks += rows.clocks.len();
        for l in new {
            stored
                .entry(l.event.lead_id.clone())
                .or_default()
                .push(l.clone());
        }
    }
    println!(
        "events {} batches {batches} re-folded leads {leads} transitions written {transitions} clocks {clocks}",
        logged.len()
    );
    Ok(())
}
