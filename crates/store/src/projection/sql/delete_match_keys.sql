-- The duplicate keys of re-folded leads that have none any more (an erased contact).
DELETE FROM lead_match_keys k USING UNNEST($1::text[], $2::text[]) AS d(t, i)
WHERE k.tenant_id = d.t AND k.lead_id = d.i
