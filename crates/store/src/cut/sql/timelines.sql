-- Every event of tenant $1's leads that the cut admits, as the log's bytes, lead by lead:
-- happened by $4 (business time) and recorded by $5 (record time); a NULL bound is open.
-- $2: only leads captured now; $3: only leads captured now before it. Both only narrow the
-- leads read: a lead's capture under a cut is never earlier than its capture now (the
-- earliest of fewer captures), so the caller's exact filter on the folded state loses none.
-- The leads of merges ($6, sql/merges.sql) are read whole: they have no `leads` row of their
-- own or one that says nothing of their group's capture under the cut.
SELECT e.lead_id, e.event_type, e.raw FROM lead_events e
LEFT JOIN leads l ON l.tenant_id = e.tenant_id AND l.lead_id = e.lead_id
WHERE e.tenant_id = $1
  AND (e.lead_id = ANY($6::text[])
       OR (l.lead_id IS NOT NULL
           AND (NOT $2 OR l.captured_at IS NOT NULL)
           AND ($3::timestamptz IS NULL OR l.captured_at < $3)))
  AND ($4::timestamptz IS NULL OR e.occurred_at <= $4)
  AND ($5::timestamptz IS NULL OR e.recorded_at <= $5)
ORDER BY e.lead_id
