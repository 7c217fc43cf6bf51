-- Identity decisions, in log order.
INSERT INTO identity_decisions (intent_id, tenant_id, log_partition, log_offset, kind,
  survivor_id, lead_ids, requested_by, why, requested_at, granted, refusal)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (intent_id, tenant_id) DO NOTHING
