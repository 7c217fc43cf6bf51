-- The decision of intent $1, scoped to tenant $2.
SELECT intent_id, tenant_id, lead_id, log_partition, log_offset, mode, rep_id, team,
  requested_by, expected_rep_id, requested_at, granted, owner_before, reason
FROM ownership_decisions WHERE intent_id = $1 AND tenant_id = $2
