-- Running clocks at $1 (now) whose alert (breach when due_at < $1, else at-risk) has no
-- lead_events row and is not among the ids $2 (appended, not yet applied); oldest threshold
-- first, at most $3.
SELECT c.tenant_id, c.lead_id, c.policy_id, c.policy_version, c.start_event_id,
  c.started_at, c.at_risk_at, c.due_at, a.breached, a.id
FROM sla_clocks c
CROSS JOIN LATERAL (SELECT c.due_at < $1 AS breached,
  CASE WHEN c.due_at < $1 THEN c.breach_event_id ELSE c.at_risk_event_id END AS id) a
WHERE c.status = 'running' AND c.at_risk_at <= $1
  AND NOT (a.id = ANY($2))
  AND NOT EXISTS (SELECT 1 FROM lead_events e WHERE e.event_id = a.id AND e.tenant_id = c.tenant_id)
ORDER BY CASE WHEN a.breached THEN c.due_at ELSE c.at_risk_at END, a.id
LIMIT $3
