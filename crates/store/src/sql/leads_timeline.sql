-- A lead's timeline: its events and those of the leads merged into it (live merges).
SELECT event_type, log_partition, log_offset, raw FROM lead_events
WHERE tenant_id = $1
  AND (lead_id = $2
       OR lead_id IN (SELECT m.lead_id FROM lead_merges m
                      WHERE m.tenant_id = $1 AND m.survivor_id = $2
                        AND m.unmerge_intent IS NULL))
ORDER BY occurred_at, event_id
