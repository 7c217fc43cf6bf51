-- The survivor lead $2 of tenant $1 is merged into (live), if any.
SELECT survivor_id FROM lead_merges
WHERE tenant_id = $1 AND lead_id = $2 AND unmerge_intent IS NULL
