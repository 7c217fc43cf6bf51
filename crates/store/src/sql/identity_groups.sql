-- The live merges and links of the groups of leads and visitors ($1 tenants, $2 ids): each
-- id's root (a visitor's lead's survivor, a merged lead's survivor, or the lead itself), then
-- every lead merged into those roots and every visitor linked to a lead of their groups.
-- (tenant, member, root, the lead a visitor is linked to or NULL for a merged lead).
WITH given AS (
  SELECT * FROM UNNEST($1::text[], $2::text[]) AS g(tenant_id, lead_id)
), leads_of AS (
  -- A visitor stands for its lead (a visitor not linked stays itself: no group).
  SELECT g.tenant_id, COALESCE(v.lead_id, g.lead_id) AS lead_id
  FROM given g
  LEFT JOIN visitor_links v ON v.tenant_id = g.tenant_id AND v.visitor_key = g.lead_id
), roots AS (
  SELECT DISTINCT l.tenant_id, COALESCE(m.survivor_id, l.lead_id) AS root
  FROM leads_of l
  LEFT JOIN lead_merges m
    ON m.tenant_id = l.tenant_id AND m.lead_id = l.lead_id AND m.unmerge_intent IS NULL
), members AS (
  SELECT r.tenant_id, r.root AS lead_id, r.root FROM roots r
  UNION ALL
  SELECT m.tenant_id, m.lead_id, m.survivor_id FROM lead_merges m
  JOIN roots r ON m.tenant_id = r.tenant_id AND m.survivor_id = r.root
  WHERE m.unmerge_intent IS NULL
)
SELECT tenant_id, lead_id, root, NULL::text FROM members WHERE lead_id <> root
UNION ALL
SELECT v.tenant_id, v.visitor_key, x.root, v.lead_id FROM members x
JOIN visitor_links v ON v.tenant_id = x.tenant_id AND v.lead_id = x.lead_id
