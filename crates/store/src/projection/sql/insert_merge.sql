-- A lead merged into its survivor by a granted merge ($3 survivor, $4 intent).
INSERT INTO lead_merges (tenant_id, lead_id, survivor_id, merge_intent, merged_at,
  merged_recorded_at, merged_by, merge_reason)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (tenant_id, lead_id, merge_intent) DO NOTHING
