-- A visitor linked to its lead by a granted link ($2 visitor key, $3 lead, $4 the link fact).
-- The first link of a visitor holds: a visitor linked already keeps its row.
INSERT INTO visitor_links (tenant_id, visitor_key, lead_id, link_event, linked_at,
  linked_recorded_at, linked_by)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (tenant_id, visitor_key) DO NOTHING
