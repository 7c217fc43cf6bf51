-- Which of leads $2 of tenant $1 the ledger knows: a `leads` row, or a live merge.
SELECT l.id FROM UNNEST($2::text[]) AS l(id)
WHERE EXISTS (SELECT 1 FROM leads x WHERE x.tenant_id = $1 AND x.lead_id = l.id)
   OR EXISTS (SELECT 1 FROM lead_merges m
              WHERE m.tenant_id = $1 AND m.lead_id = l.id AND m.unmerge_intent IS NULL)
