-- What the auto-merge worker needs to pick a survivor among candidate leads $2 of tenant $1:
-- when each was captured, and whether leads are merged into it already.
SELECT l.lead_id, l.captured_at,
       EXISTS (SELECT 1 FROM lead_merges m
                WHERE m.tenant_id = l.tenant_id AND m.survivor_id = l.lead_id
                  AND m.unmerge_intent IS NULL) AS has_merged
  FROM leads l
 WHERE l.tenant_id = $1 AND l.lead_id = ANY($2::text[])
