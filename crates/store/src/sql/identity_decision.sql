-- The decision of one identity intent ($1), scoped to tenant $2.
SELECT intent_id, kind, survivor_id, lead_ids, requested_at, granted, refusal, log_partition,
       log_offset
FROM identity_decisions WHERE intent_id = $1 AND tenant_id = $2
