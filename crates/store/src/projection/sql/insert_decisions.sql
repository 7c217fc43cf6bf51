-- Ownership decisions, in log order.
INSERT INTO ownership_decisions (intent_id, tenant_id, lead_id, log_partition, log_offset,
  mode, rep_id, team, requested_by, expected_rep_id, requested_at, granted, owner_before,
  reason)
SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::int4[], $5::int8[], $6::text[],
  $7::text[], $8::text[], $9::text[], $10::text[], $11::timestamptz[], $12::bool[],
  $13::text[], $14::text[])
ON CONFLICT (intent_id, tenant_id) DO NOTHING
