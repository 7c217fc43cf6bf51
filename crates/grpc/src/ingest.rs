//! The ingest service: validates facts, gives them deterministic ids, seals captured contacts
//! with their lead's data key (docs/PRIVACY.md) and appends them to the log. Nothing is
//! acknowledged before the broker has it with `acks=all`.

use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::stream::{FuturesOrdered, StreamExt};
use futures::Stream;
use leadledger_api::convert::{self, Mode};
use leadledger_api::pb::{self, ingest_service_server::IngestService};
use leadledger_api::ApiError;
use leadledger_domain::account::ownership;
use leadledger_domain::identity::visitor;
use leadledger_domain::{ids, validate, Violations};
use leadledger_log::{EventProducer, Position};
use leadledger_store::Store;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};
use tracing::Instrument;

use crate::auth::gate::MessageRate;
use crate::auth::Caller;
use crate::sealing::Sealer;
use crate::shed::LogBudget;
use crate::{tenant, token::Token, trace};

/// Events in flight per `StreamEvents` stream before the server stops reading.
pub const STREAM_IN_FLIGHT: usize = 256;

/// The ingest gRPC service.
#[derive(Clone)]
pub struct Ingest {
    producer: EventProducer,
    budget: LogBudget,
    /// Seals captured contacts with keys made in `contact_keys`.
    sealer: Sealer,
}

impl Ingest {
    /// Ingest over `producer`, sealing contacts with keys kept in `keys`, with the default
    /// room in the log's queue.
    pub fn new(producer: EventProducer, keys: Store) -> Self {
        Self {
            producer,
            budget: LogBudget::default(),
            sealer: Sealer::new(keys),
        }
    }

    /// The room for events awaiting the log's acknowledgement (`limits.log_queue`).
    pub fn with_log_budget(mut self, budget: LogBudget) -> Self {
        self.budget = budget;
        self
    }

    /// Appends `events`, all or none admitted: with the log's queue full the call is shed
    /// before any event is sent. The sending runs in a task of its own that keeps the room
    /// until the last acknowledgement (or failure): a caller that goes away (its deadline,
    /// `limits.max_deadline_ms`) leaves its records in the producer's queue, and they go on
    /// counting until the broker has answered for them. Returns the events with their
    /// positions.
    async fn write(
        &self,
        mut events: Vec<pb::Event>,
    ) -> Result<(Vec<pb::Event>, Vec<Position>), ApiError> {
        self.sealer.seal(&mut events).await?;
        let (events, result) = self.budget.send(&self.producer, events).await?;
        let positions = result.map_err(|e| {
            tracing::warn!(error = %e, "append failed");
            ApiError::Unavailable(format!(
                "the log did not acknowledge the events ({e}); retry: ids are idempotent"
            ))
        })?;
        for e in &events {
            metrics::counter!(crate::metrics::EVENTS_INGESTED, "type" => convert::event_type_of(e))
                .increment(1);
        }
        Ok((events, positions))
    }

    fn acks(&self, events: &[pb::Event], positions: &[Position]) -> (Vec<pb::EventAck>, String) {
        let tenant = events.first().map_or("", |e| e.tenant_id.as_str());
        let acks = events
            .iter()
            .zip(positions)
            .map(|(e, p)| pb::EventAck {
                event_id: e.event_id.clone(),
                position: Some(pb::LogPosition {
                    partition: p.partition,
                    offset: p.offset,
                }),
            })
            .collect();
        (
            acks,
            Token::new(tenant, self.producer.topic(), positions).encode(),
        )
    }
}

/// Validates one wire event for `tenant` at `now` and returns it ready for the log (id,
/// tenant, recorded_at, schema version and trace context set). Violations are reported under
/// `prefix` (e.g. `events[3]`).
pub fn prepare(
    mut e: pb::Event,
    tenant: &str,
    now: DateTime<Utc>,
    trace: Option<&pb::TraceContext>,
    prefix: &str,
    violations: &mut Violations,
) -> Option<pb::Event> {
    let mut v = Violations::default();
    // The reason that makes every other one moot comes first and alone.
    let kind = convert::event_type_of(&e);
    if validate::written_by_leadledger(kind) {
        v.add(
            "payload",
            format!(
                "clients cannot append this type: `{kind}` is written by leadledger itself \
                 (SLA worker, router, ownership, privacy and identity commands)"
            ),
        );
        violations.extend_prefixed(prefix, v);
        return None;
    }
    if e.tenant_id.is_empty() {
        e.tenant_id = tenant.to_string();
    } else if e.tenant_id != tenant {
        v.add("tenant_id", "differs from the request's tenant");
    }
    if let Some(system) = e.source.as_ref().map(|s| s.system.as_str()) {
        if ids::is_reserved_system(system) {
            v.add(
                "source.system",
                format!("`{system}` is reserved for leadledger's own facts"),
            );
        }
    }
    if e.schema_version == 0 {
        e.schema_version = leadledger_domain::event::FIRST_SCHEMA_VERSION;
    }
    file(&mut e, &mut v);
    let domain = convert::event_from_proto_best_effort(&e, Mode::Request, "", &mut v);
    // Every problem of the event in one answer: the domain rules run even when a field was
    // structurally invalid, but a field already reported is not reported twice.
    for rule in validate::event(&domain, now).0 {
        if !v.0.iter().any(|s| s.field == rule.field) {
            v.0.push(rule);
        }
    }
    let ok = v.is_empty();
    violations.extend_prefixed(prefix, v);
    if !ok {
        return None;
    }
    let source = e.source.clone().unwrap_or_default();
    e.event_id = if !source.event_id.is_empty() {
        ids::source_event_id(tenant, &source.system, &source.event_id).to_string()
    } else if !e.event_id.is_empty() {
        // The client's UUID scoped by its tenant (any spelling of the UUID gives the same
        // id): it can neither collide with another tenant's event nor take the id a source
        // fact will get. The ack names the event as the read models do.
        ids::client_event_id(tenant, domain.event_id).to_string()
    } else {
        uuid::Uuid::now_v7().to_string()
    };
    e.recorded_at = Some(convert::time_to_proto(now));
    e.event_type = convert::event_type_of(&e).to_string();
    e.trace = trace.cloned();
    Some(e)
}

/// Files a client's fact under its key, the `lead_id` it goes to the log with: an anonymous
/// visitor's facts under the visitor's key (docs/IDENTITY.md, "Anonymous visitors": its
/// touches and its link sit in its own order, and the key is the server's to make, a client
/// names the visitor in `visitor_id`); spend, no fact about a lead, under its channel and
/// campaign's (validation refuses any other lead id for it); an account's facts (its
/// listing, coverage, renewals) under its account's (`~account/…`). With the tenant, the reserved
/// source systems and the types leadledger writes itself, the rules ingest adds to the
/// conversion and the domain validator; public for the fuzz targets, which hold that.
pub fn file(e: &mut pb::Event, v: &mut Violations) {
    if !e.visitor_id.is_empty() {
        if e.lead_id.is_empty() {
            e.lead_id = visitor::key(&e.visitor_id);
        } else {
            v.add(
                "visitor_id",
                "set either lead_id (a lead's fact) or visitor_id (an anonymous visitor's), \
                 not both",
            );
        }
    } else if visitor::is_visitor(&e.lead_id) {
        v.add(
            "lead_id",
            "must not start with `~` (reserved for spend and visitors): name an anonymous \
             visitor in visitor_id",
        );
    }
    match (e.lead_id.is_empty(), &e.payload) {
        (true, Some(pb::event::Payload::SpendRecorded(s))) => {
            e.lead_id = leadledger_domain::spend::key(&s.channel, &s.campaign);
        }
        // An account fact under its account's key; an account it is not stays unfiled:
        // validation names the account field.
        (true, Some(p)) => {
            if let Some(k) = client_account(p).and_then(ownership::parse_account) {
                e.lead_id = ownership::log_key(&k);
            }
        }
        _ => {}
    }
}

/// The account a client's account fact names (its key comes from it).
fn client_account(p: &pb::event::Payload) -> Option<&str> {
    use pb::event::Payload as P;
    match p {
        P::TargetAccountListed(l) => Some(&l.account),
        P::AccountCoverageAssigned(c) => Some(&c.account),
        P::RenewalScheduled(r) => Some(&r.account),
        _ => None,
    }
}

/// Validates the events of one `Append` for `tenant` at `now`: the batch size, then every
/// event with [`prepare`], each reported under `events[i]`. Returns the events ready for the
/// log, in request order, or every violation of the batch (nothing is appended then). No I/O
/// (the clock only stamps a fresh UUIDv7 on an event that comes with no id): `Append` is
/// this plus the write. Public for the `validate_request` fuzz target.
pub fn prepare_batch(
    events: Vec<pb::Event>,
    tenant: &str,
    now: DateTime<Utc>,
    trace: Option<&pb::TraceContext>,
) -> Result<Vec<pb::Event>, ApiError> {
    check_batch_size(events.len())?;
    let mut violations = Violations::default();
    let events: Vec<pb::Event> = events
        .into_iter()
        .enumerate()
        .filter_map(|(i, e)| {
            prepare(
                e,
                tenant,
                now,
                trace,
                &format!("events[{i}]"),
                &mut violations,
            )
        })
        .collect();
    if !violations.is_empty() {
        return Err(ApiError::invalid(violations));
    }
    Ok(events)
}

fn check_batch_size(n: usize) -> Result<(), ApiError> {
    if n == 0 {
        return Err(ApiError::invalid_field(
            "events",
            "at least one event is required",
        ));
    }
    if n > validate::MAX_BATCH {
        return Err(ApiError::invalid_field(
            "events",
            format!(
                "at most {} events per request (got {n})",
                validate::MAX_BATCH
            ),
        ));
    }
    Ok(())
}

/// The tenant of one streamed message: the first message decides it (from its field or the
/// metadata); later messages may repeat it or leave it empty.
fn stream_tenant(
    current: &mut Option<String>,
    caller: Option<&Caller>,
    metadata: &tonic::metadata::MetadataMap,
    requested: &str,
) -> Result<String, ApiError> {
    match current {
        None => {
            let t = tenant::resolve_parts(caller, metadata, requested)?;
            *current = Some(t.clone());
            Ok(t)
        }
        Some(t) if requested.is_empty() || requested == t => Ok(t.clone()),
        // With a key, naming another tenant is a permission matter, as on the first message.
        Some(t) => match caller {
            Some(c) => tenant::check_named(c, "tenant_id", requested).map(|()| t.clone()),
            None => Err(ApiError::invalid_field(
                "tenant_id",
                "differs from the stream's tenant",
            )),
        },
    }
}

type ResponseStream = Pin<Box<dyn Stream<Item = Result<pb::StreamEventsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl IngestService for Ingest {
    async fn append(
        &self,
        request: Request<pb::AppendRequest>,
    ) -> Result<Response<pb::AppendResponse>, Status> {
        let remote = trace::remote_of(request.metadata());
        let span = tracing::info_span!("append", events = tracing::field::Empty);
        async move {
            let tenant = tenant::resolve(&request, &request.get_ref().tenant_id)?;
            if let Some(caller) = request.extensions().get::<Caller>() {
                for (i, e) in request.get_ref().events.iter().enumerate() {
                    tenant::check_named(caller, &format!("events[{i}].tenant_id"), &e.tenant_id)?;
                }
            }
            let req = request.into_inner();
            tracing::Span::current().record("events", req.events.len());
            // The events carry this span's context (a child of the caller's).
            let tc = leadledger_log::trace::current_or(&remote);
            let events = prepare_batch(req.events, &tenant, Utc::now(), tc.as_ref())?;
            let (events, positions) = self.write(events).await?;
            let (acks, consistency_token) = self.acks(&events, &positions);
            Ok(Response::new(pb::AppendResponse {
                acks,
                consistency_token,
            }))
        }
        .instrument(span)
        .await
    }

    type StreamEventsStream = ResponseStream;

    async fn stream_events(
        &self,
        request: Request<Streaming<pb::StreamEventsRequest>>,
    ) -> Result<Response<Self::StreamEventsStream>, Status> {
        let remote = trace::remote_of(request.metadata());
        let metadata = request.metadata().clone();
        let caller = request.extensions().get::<Caller>().cloned();
        // Each streamed event counts against the key's rate, as an Append call would.
        let rate = request.extensions().get::<MessageRate>().cloned();
        let mut inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(STREAM_IN_FLIGHT);
        let this = self.clone();
        let span = tracing::info_span!("stream_events");
        let tc = span.in_scope(|| leadledger_log::trace::current_or(&remote));
        tokio::spawn(
            async move {
                let mut tenant: Option<String> = None;
                let mut in_flight = FuturesOrdered::new();
                let mut seq: u64 = 0;
                let mut open = true;
                while open || !in_flight.is_empty() {
                    tokio::select! {
                        // Read only while under the in-flight bound: backpressure.
                        msg = inbound.next(), if open && in_flight.len() < STREAM_IN_FLIGHT => {
                            match msg {
                                None => open = false,
                                Some(Err(status)) => {
                                    tracing::info!(%status, "stream ended by the client");
                                    open = false;
                                }
                                Some(Ok(m)) => {
                                    let t = rate.as_ref().map_or(Ok(()), MessageRate::check)
                                        .and_then(|()| stream_tenant(&mut tenant, caller.as_ref(), &metadata, &m.tenant_id))
                                        .and_then(|t| match (&caller, &m.event) {
                                            (Some(c), Some(e)) => tenant::check_named(c, "event.tenant_id", &e.tenant_id).map(|()| t),
                                            _ => Ok(t),
                                        });
                                    in_flight.push_back(this.clone().one(seq, t, m.event, tc.clone()));
                                    seq += 1;
                                }
                            }
                        }
                        Some(resp) = in_flight.next(), if !in_flight.is_empty() => {
                            if tx.send(Ok(resp)).await.is_err() {
                                return; // the client went away
                            }
                        }
                    }
                }
            }
            .instrument(span),
        );
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn capture_lead(
        &self,
        request: Request<pb::CaptureLeadRequest>,
    ) -> Result<Response<pb::CaptureLeadResponse>, Status> {
        let tc = leadledger_log::trace::current_or(&trace::remote_of(request.metadata()));
        let tenant = tenant::resolve(&request, &request.get_ref().tenant_id)?;
        let r = request.into_inner();
        let now = Utc::now();
        let lead_missing = r.lead.is_none();
        let event = pb::Event {
            tenant_id: tenant.clone(),
            lead_id: r.lead_id,
            occurred_at: Some(r.occurred_at.unwrap_or_else(|| convert::time_to_proto(now))),
            source: Some(pb::SourceRef {
                system: r.source_system,
                event_id: r.source_event_id,
            }),
            payload: Some(pb::event::Payload::LeadCaptured(r.lead.unwrap_or_default())),
            ..Default::default()
        };
        let mut v = Violations::default();
        let Some(event) = prepare(event, &tenant, now, tc.as_ref(), "", &mut v) else {
            // Name fields as they are in CaptureLeadRequest.
            for f in &mut v.0 {
                f.field = f
                    .field
                    .replace("payload.lead_captured", "lead")
                    .replace("source.system", "source_system")
                    .replace("source.event_id", "source_event_id");
            }
            if lead_missing {
                // One violation for the missing message, not one per field inside it.
                v.0.retain(|f| !f.field.starts_with("lead."));
                v.add("lead", "required");
            }
            return Err(ApiError::invalid(v).into());
        };
        let (events, positions) = self.write(vec![event]).await?;
        let (mut acks, consistency_token) = self.acks(&events, &positions);
        Ok(Response::new(pb::CaptureLeadResponse {
            ack: acks.pop(),
            consistency_token,
        }))
    }
}

impl Ingest {
    /// Handles one streamed event: validate, append, answer.
    async fn one(
        self,
        seq: u64,
        tenant: Result<String, ApiError>,
        event: Option<pb::Event>,
        tc: Option<pb::TraceContext>,
    ) -> pb::StreamEventsResponse {
        let result = async {
            let tenant = tenant?;
            let event = event.ok_or_else(|| ApiError::invalid_field("event", "required"))?;
            let mut v = Violations::default();
            let Some(e) = prepare(event, &tenant, Utc::now(), tc.as_ref(), "event", &mut v) else {
                return Err(ApiError::invalid(v));
            };
            let (events, positions) =
                tokio::time::timeout(Duration::from_secs(60), self.write(vec![e]))
                    .await
                    .map_err(|_| {
                        ApiError::Unavailable("the log did not answer in 60 s".into())
                    })??;
            Ok(self.acks(&events, &positions))
        }
        .await;
        match result {
            Ok((mut acks, token)) => pb::StreamEventsResponse {
                sequence: seq,
                result: Some(pb::stream_events_response::Result::Ack(acks.remove(0))),
                consistency_token: token,
            },
            Err(e) => {
                let code = e.code() as i32;
                let message = e.to_string();
                let violations = match e {
                    ApiError::Invalid { violations, .. } => violations
                        .0
                        .into_iter()
                        .map(|v| pb::FieldViolation {
                            field: v.field,
                            description: v.description,
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                pb::StreamEventsResponse {
                    sequence: seq,
                    result: Some(pb::stream_events_response::Result::Error(pb::EventError {
                        code,
                        message,
                        violations,
                    })),
                    consistency_token: String::new(),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(event_id: &str) -> pb::Event {
        pb::Event {
            event_id: event_id.into(),
            lead_id: "lead-1".into(),
            occurred_at: Some(convert::time_to_proto(now() - chrono::Duration::hours(1))),
            source: Some(pb::SourceRef {
                system: "hubspot".into(),
                event_id: String::new(),
            }),
            payload: Some(pb::event::Payload::Recycled(pb::Recycled {
                reason: "later".into(),
                ..Default::default()
            })),
            ..Default::default()
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600, 0).unwrap()
    }

    #[test]
    fn a_client_event_id_is_scoped_by_tenant_whatever_its_spelling() {
        // Found by the validate_request fuzz target: the id was only lower-cased, so a
        // braced or URN id was acked in a form the read models never show. Every spelling
        // of one UUID is one event, stored (and acked) as the tenant-scoped id.
        let canonical = "6f1c9a8e-5b7d-4c3e-9a2f-1d0e8b7c6a5f";
        let stored =
            ids::client_event_id("acme", uuid::Uuid::parse_str(canonical).unwrap()).to_string();
        for sent in [
            canonical,
            "6F1C9A8E-5B7D-4C3E-9A2F-1D0E8B7C6A5F",
            "{6f1c9a8e-5b7d-4c3e-9a2f-1d0e8b7c6a5f}",
            "urn:uuid:6f1c9a8e-5b7d-4c3e-9a2f-1d0e8b7c6a5f",
            "6f1c9a8e5b7d4c3e9a2f1d0e8b7c6a5f",
        ] {
            let out = prepare_batch(vec![event(sent)], "acme", now(), None).unwrap();
            assert_eq!(out[0].event_id, stored, "{sent}");
            let other = prepare_batch(vec![event(sent)], "globex", now(), None).unwrap();
            assert_ne!(other[0].event_id, stored, "{sent}");
        }
    }

    #[test]
    fn the_nil_event_id_is_refused_under_its_index() {
        let batch = vec![event(""), event("00000000-0000-0000-0000-000000000000")];
        let Err(ApiError::Invalid { violations, .. }) = prepare_batch(batch, "acme", now(), None)
        else {
            panic!("the nil event id was accepted");
        };
        assert_eq!(violations.0.len(), 1);
        assert_eq!(violations.0[0].field, "events[1].event_id");
    }
}
