-- A notice given up: kept with its body ($1 subscription, $2 event, $3 tenant, $4 lead,
-- $5 partition, $6 offset, $7 attempts, $8 last error, $9 when, $10 body); a second give-up
-- of the same notice (after a crash) keeps the first.
INSERT INTO webhook_dead_letters (subscription_id, event_id, tenant_id, lead_id,
  log_partition, log_offset, attempts, last_error, failed_at, body)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (subscription_id, event_id) DO NOTHING
