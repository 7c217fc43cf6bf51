-- The merges of tenants $1: (tenant, merged lead, survivor, whether it stands). The ones
-- undone are the pairs a person split (an auto-merge rule never joins them again).
SELECT tenant_id, lead_id, survivor_id, unmerge_intent IS NULL FROM lead_merges
WHERE tenant_id = ANY($1::text[])
