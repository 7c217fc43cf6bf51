//! `leadledger dlq list|show|redrive`: the dead letters of the events topic, and putting them
//! back in the log once what made them fail is fixed (a newer leadledger that reads a newer
//! schema, a database constraint removed).
//!
//! A redrive re-appends the event through the same producer as ingest: it keeps its event id,
//! so the projector applies it once however many times it is redriven (a second copy is a
//! duplicate and is skipped), and it lands at the end of its lead's partition, so it is
//! applied after the lead's later events (the read models are ordered by business time where
//! it matters: timelines, stage visits). A dead letter that still cannot be decoded is not
//! re-appended (it would only come back), and the command says why and exits non-zero.

use std::time::Duration;

use anyhow::Context;
use leadledger_log::dead_letter::{self, DeadLetter};
use leadledger_log::EventProducer;
use rdkafka::Message;

use crate::config::Config;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// One line per dead letter: its offset, where it came from, why, and whether it decodes
    /// now.
    List,
    /// One dead letter in full: origin, reason, headers, and the event as JSON (or the bytes).
    Show {
        /// Its offset in the dead-letter topic (from `dlq list`).
        offset: i64,
    },
    /// Re-append dead letters to the events topic (those that decode now).
    Redrive {
        /// The offsets to redrive (from `dlq list`).
        #[arg(
            long = "offset",
            value_name = "OFFSET",
            required_unless_present = "all"
        )]
        offsets: Vec<i64>,
        /// Every dead letter.
        #[arg(long, conflicts_with = "offsets")]
        all: bool,
        /// Say what would be redriven, append nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// How long reading the dead-letter topic may take.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

pub async fn run(cfg: &Config, command: Command) -> anyhow::Result<()> {
    let log = cfg.log.clone();
    let letters = tokio::task::spawn_blocking(move || dead_letter::read_all(&log, READ_TIMEOUT))
        .await?
        .with_context(|| format!("reading {}", cfg.log.dead_letter_topic()))?;
    match command {
        Command::List => {
            if letters.is_empty() {
                println!("no dead letters in {}", cfg.log.dead_letter_topic());
            }
            for d in &letters {
                let now = match leadledger_log::decode::decode(&d.record) {
                    Ok(e) => format!(
                        "decodes now: {} {}",
                        e.event.payload.event_type(),
                        e.event.event_id
                    ),
                    Err(why) => format!("still undecodable: {why}"),
                };
                println!("{:>6}  {}  {}  [{now}]", d.offset, d.origin, d.reason);
            }
            Ok(())
        }
        Command::Show { offset } => {
            let d = find(&letters, offset)?;
            print!("{}", show(d));
            Ok(())
        }
        Command::Redrive {
            offsets,
            all,
            dry_run,
        } => {
            let chosen: Vec<&DeadLetter> = if all {
                letters.iter().collect()
            } else {
                offsets
                    .iter()
                    .map(|o| find(&letters, *o))
                    .collect::<anyhow::Result<_>>()?
            };
            redrive(cfg, &chosen, dry_run).await
        }
    }
}

fn find(letters: &[DeadLetter], offset: i64) -> anyhow::Result<&DeadLetter> {
    letters
        .iter()
        .find(|d| d.offset == offset)
        .with_context(|| format!("no dead letter at offset {offset} (see `leadledger dlq list`)"))
}

/// A dead letter in full, as `dlq show` prints it.
fn show(d: &DeadLetter) -> String {
    let mut out = format!(
        "offset:  {}\norigin:  {}\nreason:  {}\nkey:     {}\n",
        d.offset,
        d.origin,
        d.reason,
        d.record.key().map_or_else(
            || "(none)".into(),
            |k| String::from_utf8_lossy(k).into_owned()
        )
    );
    match leadledger_log::decode::decode(&d.record) {
        Ok(e) => {
            out.push_str("decodes now: yes\n");
            out.push_str(&serde_json::to_string_pretty(&e.body).unwrap_or_default());
            out.push('\n');
        }
        Err(why) => {
            out.push_str(&format!("decodes now: no ({why})\nvalue (hex): "));
            let bytes = d.record.payload().unwrap_or_default();
            out.push_str(&hex::encode(&bytes[..bytes.len().min(512)]));
            if bytes.len() > 512 {
                out.push_str(&format!("… ({} bytes)", bytes.len()));
            }
            out.push('\n');
        }
    }
    out
}

async fn redrive(cfg: &Config, chosen: &[&DeadLetter], dry_run: bool) -> anyhow::Result<()> {
    let producer = EventProducer::new(&cfg.log)?;
    let (mut sent, mut refused) = (0usize, 0usize);
    for d in chosen {
        let wire = match leadledger_log::decode::decode(&d.record) {
            Ok(decoded) => {
                let mut wire = leadledger_api::record::decode(d.record.payload())
                    .map_err(|e| anyhow::anyhow!("dead letter {}: {e}", d.offset))?;
                // The type may have travelled only in a header (headers are not re-written
                // against a broker that has them off): it goes into the value.
                if wire.event_type.is_empty() {
                    wire.event_type = decoded.event.payload.event_type().to_string();
                }
                wire
            }
            Err(why) => {
                refused += 1;
                println!(
                    "{:>6}  not redriven: still cannot be decoded ({why})",
                    d.offset
                );
                continue;
            }
        };
        if dry_run {
            println!("{:>6}  would redrive event {}", d.offset, wire.event_id);
            continue;
        }
        let at = producer
            .append(std::slice::from_ref(&wire))
            .await
            .with_context(|| format!("redriving dead letter {}", d.offset))?;
        sent += 1;
        let p = at
            .first()
            .map(|p| (p.partition, p.offset))
            .unwrap_or_default();
        println!(
            "{:>6}  redriven: event {} appended at {}/{}/{}",
            d.offset, wire.event_id, cfg.log.topic, p.0, p.1
        );
    }
    producer.flush(Duration::from_secs(10))?;
    println!(
        "{} of {} dead letters {}; {refused} still undecodable",
        if dry_run {
            chosen.len() - refused
        } else {
            sent
        },
        chosen.len(),
        if dry_run {
            "would be redriven"
        } else {
            "redriven"
        }
    );
    anyhow::ensure!(
        refused == 0,
        "{refused} dead letters could not be redriven (see above)"
    );
    Ok(())
}
