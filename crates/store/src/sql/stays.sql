-- Every stay of tenant $1's leads captured in [$2, $3) (a NULL bound is open), with the
-- lead's group key, capture time and current owner, ordered by lead then stay: the rows
-- the measures of `leadledger_analytics` take one lead at a time (docs/ANALYTICS.md).
--
-- `/*KEY*/` is replaced by the group key, a text[] built from the dimensions' fixed
-- expressions over `leads` (stays.rs; never user input), unqualified: they name columns
-- only `leads` has.
SELECT l.lead_id, /*KEY*/ AS key, l.captured_at, l.owner_rep_id, l.owner_team, l.owner_queue,
       l.owner_partner_id, s.stage, s.entered_at, s.exited_at
FROM leads l
JOIN stage_visits s ON s.tenant_id = l.tenant_id AND s.lead_id = l.lead_id
WHERE l.tenant_id = $1
  AND ($2::timestamptz IS NULL OR l.captured_at >= $2)
  AND ($3::timestamptz IS NULL OR l.captured_at < $3)
ORDER BY l.lead_id, s.seq
