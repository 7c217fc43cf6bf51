-- The merge rows of lead $2, for `GetLead`: every merge into it, live and past, oldest first,
-- and the live merge of it into another lead if there is one (then it is no survivor).
SELECT lead_id, survivor_id, merge_intent, merged_at, merged_by, merge_reason,
       unmerge_intent, unmerged_at, unmerged_by, unmerge_reason
FROM lead_merges
WHERE tenant_id = $1 AND (survivor_id = $2 OR (lead_id = $2 AND unmerge_intent IS NULL))
ORDER BY merged_at, lead_id
