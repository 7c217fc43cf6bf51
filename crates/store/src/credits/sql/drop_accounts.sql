-- The account rows of leads that have no journey of their own any more (merged into a
-- survivor, whose journey holds their touches).
DELETE FROM attribution_accounts a USING UNNEST($1::text[], $2::text[]) AS d(t, l)
WHERE a.tenant_id = d.t AND a.lead_id = d.l
