-- The live merges of tenants $1: (tenant, merged lead, survivor).
SELECT tenant_id, lead_id, survivor_id FROM lead_merges
WHERE tenant_id = ANY($1::text[]) AND unmerge_intent IS NULL
