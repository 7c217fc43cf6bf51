-- The next SLA alerts (and, when $11, escalation steps) of tenant $1 after the positions ($4
-- partition, $5 last offset considered; absent partitions from the start) and below the
-- applied checkpoints ($2 partition, $3 next offset to apply), filtered by owner team, rep,
-- segment and region ($6-$9, '' for any), in (partition, offset) order, at most $10. Each
-- branch reads its own partial index (`lead_events_sla_alerts`, migration 0005;
-- `lead_events_sla_escalations`, migration 0021).
SELECT e.event_id, e.lead_id, e.event_type, e.occurred_at, e.log_partition,
  e.log_offset, e.raw, coalesce(l.owner_team, '') AS owner_team,
  coalesce(l.owner_queue, '') AS owner_queue,
  coalesce(l.owner_rep_id, '') AS owner_rep_id,
  coalesce(l.owner_partner_id, '') AS owner_partner_id,
  coalesce(l.segment, '') AS segment, coalesce(l.region, '') AS region
FROM (
  SELECT event_id, tenant_id, lead_id, event_type, occurred_at, log_partition, log_offset, raw
  FROM lead_events
  WHERE tenant_id = $1 AND event_type IN ('sla_at_risk', 'sla_breached')
  UNION ALL
  SELECT event_id, tenant_id, lead_id, event_type, occurred_at, log_partition, log_offset, raw
  FROM lead_events
  WHERE $11 AND tenant_id = $1 AND event_type = 'sla_escalated'
) e
JOIN UNNEST($2::int4[], $3::int8[]) AS ap(p, next)
  ON ap.p = e.log_partition AND e.log_offset < ap.next
LEFT JOIN UNNEST($4::int4[], $5::int8[]) AS pos(p, o) ON pos.p = e.log_partition
LEFT JOIN leads l ON l.tenant_id = e.tenant_id AND l.lead_id = e.lead_id
WHERE e.log_offset > coalesce(pos.o, -1)
  AND ($6 = '' OR l.owner_team = $6) AND ($7 = '' OR l.owner_rep_id = $7)
  AND ($8 = '' OR l.segment = $8) AND ($9 = '' OR l.region = $9)
ORDER BY e.log_partition, e.log_offset LIMIT $10
