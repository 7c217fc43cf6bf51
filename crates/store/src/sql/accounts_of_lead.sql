-- The account lead $2 is in: its survivor's, when it is live-merged into another lead.
SELECT l.account_key
FROM leads l
WHERE l.tenant_id = $1
  AND l.lead_id = coalesce(
    (SELECT m.survivor_id FROM lead_merges m
     WHERE m.tenant_id = $1 AND m.lead_id = $2 AND m.unmerge_intent IS NULL
     LIMIT 1),
    $2)
