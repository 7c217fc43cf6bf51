-- The rows of leads without a timeline of their own any more (merged into a survivor).
DELETE FROM leads l USING UNNEST($1::text[], $2::text[]) AS d(t, i)
WHERE l.tenant_id = d.t AND l.lead_id = d.i
