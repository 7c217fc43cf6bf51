//! `WatchSla`: SLA alerts (`sla_at_risk`, `sla_breached` rows of `lead_events`; with
//! `include_escalations` also `sla_escalated`) streamed in log order per partition,
//! resumable without gaps or duplicates.
//!
//! The stream keeps a cursor: per partition, the last offset it has considered (delivered,
//! or scanned and filtered out). It only reads rows below the projection's checkpoint of
//! each partition: the checkpoint moves in the transaction that inserts the rows, so every
//! row under it is committed and no row can later appear behind the cursor. Every message
//! carries the cursor as it stands right after that message (encoded like a consistency
//! token), so a client resuming from it gets exactly the alerts after it. A cursor is only
//! meaningful with the same filters: alerts filtered out before it are not revisited.
//!
//! New alerts are awaited on the process's checkpoint watcher (woken by the projector's
//! `NOTIFY`), with at most one scan per [`MIN_SCAN_INTERVAL`]; the task ends as soon as the
//! client goes away.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::time::Duration;

use futures::Stream;
use leadledger_api::convert::{escalation_to_proto, owner_to_proto, time_to_proto};
use leadledger_api::pb;
use leadledger_api::ApiError;
use leadledger_domain::event::Owner;
use leadledger_domain::Payload;
use leadledger_store::sla_reports::{self, AlertFilter, AlertRow};
use leadledger_store::Store;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Status};

use crate::context::ReadContext;
use crate::{tenant, token::Token};

/// Alerts read per query.
pub const PAGE: i64 = 500;

/// Shortest time between two scans of one stream (bounds its database load under a busy
/// projector, which moves the checkpoints every few milliseconds).
pub const MIN_SCAN_INTERVAL: Duration = Duration::from_millis(100);

/// Messages buffered per stream before the task waits for the client.
const BUFFER: usize = 64;

/// The response stream of `WatchSla`.
pub type AlertStream = Pin<Box<dyn Stream<Item = Result<pb::WatchSlaResponse, Status>> + Send>>;

/// Validates the request and starts the stream's task.
pub(crate) fn watch(
    query: &ReadContext,
    request: Request<pb::WatchSlaRequest>,
) -> Result<AlertStream, ApiError> {
    let r = request.get_ref();
    let tenant = tenant::resolve(&request, &r.tenant_id)?;
    let segment = match pb::Segment::try_from(r.segment) {
        Ok(pb::Segment::Unspecified) => "",
        Ok(pb::Segment::Ka) => "KA",
        Ok(pb::Segment::Smb) => "SMB",
        Err(_) => return Err(ApiError::invalid_field("segment", "unknown segment")),
    };
    let topic = query.topic().to_string();
    let bad_position = |why: &str| {
        ApiError::invalid_field(
            "from_position",
            format!("{why}; pass a message's resume_position"),
        )
    };
    let cursor = match Token::parse(&r.from_position)
        .map_err(|_| bad_position("not a position issued by this service"))?
    {
        Some(t) if t.tenant != tenant => {
            return Err(ApiError::PermissionDenied(
                "from_position was issued to another tenant".into(),
            ))
        }
        Some(t) if t.topic != topic => return Err(bad_position("names another topic")),
        Some(t) => Some(t.offsets),
        None => None,
    };
    let filter = AlertFilter {
        team: r.team.clone(),
        rep_id: r.rep_id.clone(),
        escalations: r.include_escalations,
        segment: segment.to_string(),
        region: r.region.clone(),
    };
    let watch = Watch {
        store: query.store().clone(),
        tenant,
        topic,
        filter,
        from_now: cursor.is_none() && r.from_now,
        cursor: cursor.unwrap_or_default(),
        applied: query.applied().subscribe(),
    };
    let (tx, rx) = mpsc::channel(BUFFER);
    // A stream that ends only when its client goes away must also end when the server
    // shuts down, or the drain would wait for it: the client is told to resume.
    let closing = query.closing();
    tokio::spawn(async move {
        let subscribers = metrics::gauge!(crate::metrics::WATCH_SLA_SUBSCRIBERS);
        subscribers.increment(1.0);
        tokio::select! {
            () = watch.run(tx.clone()) => {}
            () = closing.cancelled() => {
                let _ = tx
                    .send(Err(Status::unavailable(
                        "the server is shutting down; reconnect with the last resume_position",
                    )))
                    .await;
            }
        }
        subscribers.decrement(1.0);
    });
    Ok(Box::pin(ReceiverStream::new(rx)))
}

struct Watch {
    store: Store,
    tenant: String,
    topic: String,
    filter: AlertFilter,
    from_now: bool,
    /// Partition → last offset considered (inclusive).
    cursor: BTreeMap<i32, i64>,
    applied: watch::Receiver<BTreeMap<i32, i64>>,
}

type Tx = mpsc::Sender<Result<pb::WatchSlaResponse, Status>>;

impl Watch {
    async fn run(mut self, tx: Tx) {
        if self.from_now {
            // Start at what is applied now (waiting for the watcher's first load).
            let applied = self.next_applied(&tx, true).await;
            let Some(applied) = applied else { return };
            self.cursor = applied
                .iter()
                .filter(|(_, next)| **next > 0)
                .map(|(p, next)| (*p, next - 1))
                .collect();
        }
        let mut first = true;
        loop {
            let Some(applied) = self.next_applied(&tx, first).await else {
                return;
            };
            first = false;
            // Drain everything applied, a page at a time.
            loop {
                let rows = match sla_reports::alerts(
                    &self.store.pool,
                    &self.tenant,
                    &self.filter,
                    &self.cursor,
                    &applied,
                    PAGE,
                )
                .await
                {
                    Ok(rows) => rows,
                    Err(e) => {
                        let _ = tx.send(Err(ApiError::from(e).into())).await;
                        return;
                    }
                };
                let full = rows.len() as i64 == PAGE;
                for row in rows {
                    self.cursor.insert(row.log_partition, row.log_offset);
                    let msg = match self.message(row) {
                        Ok(m) => m,
                        Err(e) => {
                            let _ = tx.send(Err(e.into())).await;
                            return;
                        }
                    };
                    if tx.send(Ok(msg)).await.is_err() {
                        return; // the client went away
                    }
                }
                if !full {
                    // Everything below the checkpoints has been considered.
                    for (p, next) in applied.iter().filter(|(_, next)| **next > 0) {
                        let c = self.cursor.entry(*p).or_insert(0);
                        *c = (*c).max(next - 1);
                    }
                    break;
                }
            }
            tokio::select! {
                () = tokio::time::sleep(MIN_SCAN_INTERVAL) => {}
                () = tx.closed() => return,
            }
        }
    }

    /// The checkpoints to scan under: immediately on the first turn (once loaded), else
    /// after they move. `None` when the client went away or the watcher stopped.
    async fn next_applied(&mut self, tx: &Tx, first: bool) -> Option<BTreeMap<i32, i64>> {
        loop {
            if !first || self.applied.borrow().is_empty() {
                tokio::select! {
                    changed = self.applied.changed() => changed.ok()?,
                    () = tx.closed() => return None,
                }
            }
            let applied = self.applied.borrow_and_update().clone();
            if !applied.is_empty() {
                return Some(applied);
            }
        }
    }

    fn message(&self, row: AlertRow) -> Result<pb::WatchSlaResponse, ApiError> {
        let (kind, alert, escalation) = match &row.event.payload {
            Payload::SlaAtRisk(a) => (pb::SlaAlertKind::AtRisk, a.clone(), None),
            Payload::SlaBreached(a) => (pb::SlaAlertKind::Breached, a.clone(), None),
            // The clock's part of a step, so every message names its clock the same way.
            Payload::SlaEscalated(x) => (
                pb::SlaAlertKind::Escalated,
                x.clock(),
                Some(escalation_to_proto(x)),
            ),
            _ => return Err(ApiError::Internal("not an SLA alert".into())),
        };
        let resume_position = Token {
            tenant: self.tenant.clone(),
            topic: self.topic.clone(),
            offsets: self.cursor.clone(),
        }
        .encode();
        Ok(pb::WatchSlaResponse {
            event_id: row.event_id.to_string(),
            kind: kind as i32,
            lead_id: row.lead_id,
            alert: Some(pb::SlaAlert {
                policy_id: alert.policy_id.clone(),
                policy_version: alert.policy_version,
                start_event_id: alert.start_event_id.to_string(),
                started_at: Some(time_to_proto(alert.started_at)),
                due_at: Some(time_to_proto(alert.due_at)),
            }),
            occurred_at: Some(time_to_proto(row.occurred_at)),
            owner: Some(owner_to_proto(&Owner {
                team: row.owner_team,
                queue: row.owner_queue,
                rep_id: row.owner_rep_id,
                partner_id: row.owner_partner_id,
            })),
            segment: row.segment,
            region: row.region,
            position: Some(pb::LogPosition {
                partition: row.log_partition,
                offset: row.log_offset,
            }),
            resume_position,
            escalation,
        })
    }
}
