-- The live merges of the groups of leads ($1 tenants, $2 leads): each lead's survivor (or
-- itself), then every lead merged into those. (tenant, merged lead, survivor).
WITH given AS (
  SELECT * FROM UNNEST($1::text[], $2::text[]) AS g(tenant_id, lead_id)
), roots AS (
  SELECT DISTINCT g.tenant_id, COALESCE(m.survivor_id, g.lead_id) AS root
  FROM given g
  LEFT JOIN lead_merges m
    ON m.tenant_id = g.tenant_id AND m.lead_id = g.lead_id AND m.unmerge_intent IS NULL
)
SELECT m.tenant_id, m.lead_id, m.survivor_id FROM lead_merges m
JOIN roots r ON m.tenant_id = r.tenant_id AND m.survivor_id = r.root
WHERE m.unmerge_intent IS NULL
