-- The `clocks` CTE the SLA report statements start with (not a statement on its own): the
-- clocks of tenant $1 that exist at $2 (as_of), started in [$3, $4) (NULL: unbounded), of the
-- policies $5 (empty: every policy), with their state at $2 and the lead's current owner and
-- dimensions. The row holds the thresholds after every pause; a pause moves only thresholds
-- after its start, so they give the state at $2, unless $2 is inside a pause (`paused_at`,
-- `pauses`): then the clock was paused (a property test in crates/sla/tests/pause.rs).
WITH clocks AS (
  SELECT c.lead_id, c.policy_id, c.policy_version, c.start_event_id, c.started_at,
    c.due_at, c.ended_at, c.breached_at,
    sla_clock_state(CASE WHEN c.ended_at <= $2 THEN c.status
                         WHEN c.status = 'paused' AND c.paused_at <= $2 THEN 'paused'
                         WHEN $2 <@ ANY (c.pauses) THEN 'paused'
                         ELSE 'running' END,
                    c.at_risk_at, c.due_at, $2) AS state,
    CASE WHEN c.ended_at <= $2 THEN NULL
         WHEN c.status = 'paused' AND c.paused_at <= $2 THEN c.paused_at
         ELSE (SELECT lower(r) FROM unnest(c.pauses) r WHERE $2 <@ r) END AS paused_at,
    l.owner_team, l.owner_queue, l.owner_rep_id, l.owner_partner_id, l.segment, l.channel,
    l.region
  FROM sla_clocks c JOIN leads l USING (tenant_id, lead_id)
  WHERE c.tenant_id = $1 AND c.started_at <= $2
    AND ($3::timestamptz IS NULL OR c.started_at >= $3)
    AND ($4::timestamptz IS NULL OR c.started_at < $4)
    AND (cardinality($5::text[]) = 0 OR c.policy_id = ANY($5))
)
