-- The timeline rows of a batch; returns the ids new to the read models (the `event_id`
-- primary key is the applied-event set: a duplicate is skipped).
INSERT INTO lead_events (event_id, tenant_id, lead_id, event_type, schema_version,
  occurred_at, recorded_at, source_system, source_event_id, log_partition, log_offset,
  known, body, raw)
SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int4[],
  $6::timestamptz[], $7::timestamptz[], $8::text[], $9::text[], $10::int4[],
  $11::int8[], $12::bool[], $13::jsonb[], $14::bytea[])
ON CONFLICT (event_id, tenant_id) DO NOTHING
RETURNING event_id, tenant_id
