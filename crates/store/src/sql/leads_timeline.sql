-- A lead's timeline: the events of leads $2 (the lead and those live-merged into it) and of
-- the visitors linked to any of them (their touches are the lead's; docs/IDENTITY.md).
SELECT event_type, log_partition, log_offset, raw FROM lead_events
WHERE tenant_id = $1
  AND lead_id = ANY($2::text[] || ARRAY(SELECT v.visitor_key FROM visitor_links v
                                         WHERE v.tenant_id = $1 AND v.lead_id = ANY($2::text[])))
ORDER BY occurred_at, event_id
