-- Running clocks at $1 (now) whose due alert (breach when due_at < $1, else at-risk) is not
-- in the lead's timeline (the flags the projection keeps, migration 0013; the lookup in
-- lead_events stays as a guard) and not among the ids $2 (appended, not yet applied); oldest
-- threshold first, at most $3. Reads `sla_clocks_alert_due`: only clocks whose breach alert
-- is missing, so clocks alerted long ago cost nothing.
SELECT c.tenant_id, c.lead_id, c.policy_id, c.policy_version, c.start_event_id,
  c.started_at, c.at_risk_at, c.due_at, a.breached, a.id
FROM (
  SELECT * FROM sla_clocks
  WHERE status = 'running' AND NOT breach_alerted AND at_risk_at <= $1
  UNION ALL
  -- A pause may be dated up to a day ahead: the clock runs until then (`sla_clocks_paused`).
  SELECT * FROM sla_clocks
  WHERE status = 'paused' AND paused_at > $1 AND NOT breach_alerted AND at_risk_at <= $1
) c
CROSS JOIN LATERAL (SELECT c.due_at < $1 AS breached,
  CASE WHEN c.due_at < $1 THEN c.breach_event_id ELSE c.at_risk_event_id END AS id) a
WHERE (a.breached OR NOT c.at_risk_alerted)
  AND NOT (a.id = ANY($2))
  AND NOT EXISTS (SELECT 1 FROM lead_events e WHERE e.event_id = a.id AND e.tenant_id = c.tenant_id)
ORDER BY CASE WHEN a.breached THEN c.due_at ELSE c.at_risk_at END, a.id
LIMIT $3
