-- Per partner of tenant $1: the leads it has held since at least $3 (cutoff), and of those
-- the ones with no outcome and no follow-up logged between the hand-off and $2 (as_of), with
-- up to $4 of their ids, oldest hand-off first.
WITH held AS (
  SELECT l.owner_partner_id AS partner_id, l.lead_id, l.owner_since,
    coalesce(l.stage, '') NOT IN
      ('signed', 'lost', 'disqualified', 'rejected', 'recycled')
    AND NOT EXISTS (SELECT 1 FROM lead_events f
      WHERE f.tenant_id = l.tenant_id AND f.lead_id = l.lead_id
        AND f.event_type = 'follow_up_logged'
        AND f.occurred_at >= l.owner_since AND f.occurred_at <= $2) AS leaked
  FROM leads l
  WHERE l.tenant_id = $1 AND l.owner_partner_id <> '' AND l.owner_since <= $3
)
SELECT partner_id, count(*) AS handed_off, count(*) FILTER (WHERE leaked) AS leaked,
  coalesce((array_agg(lead_id ORDER BY owner_since, lead_id)
    FILTER (WHERE leaked))[1:$4], '{}') AS leaked_lead_ids
FROM held GROUP BY partner_id ORDER BY partner_id
