-- The merges of a survivor's group, live and past, for the audit (`GetLead`): every row whose
-- survivor is $2, oldest first.
SELECT lead_id, survivor_id, merge_intent, merged_at, merged_by, merge_reason,
       unmerge_intent, unmerged_at, unmerged_by, unmerge_reason
FROM lead_merges WHERE tenant_id = $1 AND survivor_id = $2
ORDER BY merged_at, lead_id
