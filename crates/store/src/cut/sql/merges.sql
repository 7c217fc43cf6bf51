-- Tenant $1's merges and visitors' links: (lead or visitor key, survivor or linked lead,
-- whether the cut admits it live). A merge is live under the cut when it was decided by then
-- (happened by $2, recorded by $3; a NULL bound is open) and its unmerge, if any, was not; a
-- link when it happened and was recorded by then. Every lead and visitor named here (live
-- under the cut or not) is read whole: its present capture says nothing of its group's under
-- the cut.
SELECT lead_id, survivor_id, live FROM (
SELECT lead_id, survivor_id,
       ($2::timestamptz IS NULL OR merged_at <= $2)
       AND ($3::timestamptz IS NULL OR merged_recorded_at <= $3)
       AND NOT (unmerge_intent IS NOT NULL
                AND ($2::timestamptz IS NULL OR unmerged_at <= $2)
                AND ($3::timestamptz IS NULL OR unmerged_recorded_at <= $3)) AS live,
       merged_at AS at
FROM lead_merges WHERE tenant_id = $1
UNION ALL
SELECT visitor_key, lead_id,
       ($2::timestamptz IS NULL OR linked_at <= $2)
       AND ($3::timestamptz IS NULL OR linked_recorded_at <= $3),
       linked_at
FROM visitor_links WHERE tenant_id = $1
) x
ORDER BY at, lead_id
