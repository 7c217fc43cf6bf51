-- Running (or future-paused) clocks whose next escalation step is due at $1 (now), with the
-- lead's owner, stage and routing facts; oldest step first, at most $2. A step taken is in
-- the lead's timeline, and the projection then stores the clock's next one, so only steps
-- appended and not applied yet come back (the worker skips those). Reads
-- `sla_clocks_escalation_due`.
SELECT c.tenant_id, c.lead_id, c.policy_id, c.policy_version, c.start_event_id,
  c.started_at, c.due_at, c.escalation_step, c.escalation_at,
  l.owner_team, l.owner_queue, l.owner_rep_id, l.owner_partner_id, l.owner_since,
  coalesce(l.stage, '') AS stage, l.region, l.industry, l.segment, l.channel
FROM sla_clocks c
JOIN leads l USING (tenant_id, lead_id)
WHERE c.escalation_at <= $1
ORDER BY c.escalation_at, c.start_event_id, c.policy_id
LIMIT $2
