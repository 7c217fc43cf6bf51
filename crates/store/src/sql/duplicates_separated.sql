-- The pairs of live leads $2 of tenant $1 whose groups (a lead and the leads merged into it)
-- an unmerge split: a lead of one's group was unmerged from a lead of the other's. The
-- auto-merge worker never asks to join them (a person split them).
WITH members AS (
    SELECT r AS root, r AS lead FROM unnest($2::text[]) r
    UNION ALL
    SELECT g.survivor_id, g.lead_id FROM lead_merges g
     WHERE g.tenant_id = $1 AND g.survivor_id = ANY($2::text[]) AND g.unmerge_intent IS NULL
)
SELECT DISTINCT x.root, y.root
  FROM lead_merges m
  JOIN members x ON x.lead = m.lead_id
  JOIN members y ON y.lead = m.survivor_id
 WHERE m.tenant_id = $1 AND m.unmerge_intent IS NOT NULL AND x.root <> y.root
