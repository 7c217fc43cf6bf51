-- A merged lead split off by a granted unmerge ($3 intent).
UPDATE lead_merges SET unmerge_intent = $3, unmerged_at = $4, unmerged_recorded_at = $5,
  unmerged_by = $6, unmerge_reason = $7
WHERE tenant_id = $1 AND lead_id = $2 AND unmerge_intent IS NULL
