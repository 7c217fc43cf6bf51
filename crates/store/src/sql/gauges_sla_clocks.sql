-- Running SLA clocks past their at-risk threshold (not yet due) and past their due time,
-- at the database's clock, across tenants (a metric, never a decision). Reads the partial
-- index sla_clocks_running (at_risk_at) WHERE status = 'running'.
SELECT count(*) FILTER (WHERE due_at >= now())::int8 AS at_risk,
       count(*) FILTER (WHERE due_at < now())::int8 AS breached
FROM sla_clocks
WHERE status = 'running' AND at_risk_at <= now()
