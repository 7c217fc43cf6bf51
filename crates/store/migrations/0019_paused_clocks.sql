-- Paused SLA clocks (issue 19): a clock whose lead is paused (`ClockPaused`, docs/SLA.md
-- "Paused clocks") is stored with status 'paused', the instant its pause began, and the
-- at-risk and due instants it had then. Before `paused_at` it was running with them; from
-- `paused_at` on it is 'paused' (sla_clock_state returns any status but 'running' as it is).
-- The SLA worker reads only 'running' clocks, so a paused clock is never alerted.
--
-- Online: a nullable column without a default (no table rewrite).
ALTER TABLE sla_clocks ADD COLUMN paused_at timestamptz;

-- Its ended pauses that began before its due time (NULL: none). A clock's row holds the
-- thresholds after every pause, and a pause moves only thresholds after its start, so a
-- report at an earlier instant reads the right state from the row, except inside an ended
-- pause: these ranges say the clock was paused then.
ALTER TABLE sla_clocks ADD COLUMN pauses tstzrange[];

-- The SLA worker's due alerts also read clocks paused from a later instant (a pause may be
-- dated up to a day ahead; they run until then): few rows, found by this index.
CREATE INDEX sla_clocks_paused ON sla_clocks (paused_at) WHERE status = 'paused';

-- The BI view's state now: a pause may be dated up to a day ahead (clock skew), so a
-- 'paused' clock is running until its pause begins, and a running one is paused inside a
-- pause that ends later.
CREATE OR REPLACE VIEW sla_clock_states WITH (security_invoker = true) AS
SELECT c.tenant_id, c.lead_id, c.policy_id, c.policy_version, c.start_event_id,
       c.started_at, c.at_risk_at, c.due_at, c.status, c.ended_at, c.end_recorded_at,
       c.stop_reason, c.breached_at,
       sla_clock_state(CASE WHEN c.status NOT IN ('running', 'paused') THEN c.status
                            WHEN now() <@ ANY (c.pauses) THEN 'paused'
                            WHEN c.status = 'paused' AND now() < c.paused_at THEN 'running'
                            ELSE c.status END,
                       c.at_risk_at, c.due_at, now()) AS state_now,
       l.owner_team, l.owner_rep_id, l.owner_partner_id, l.segment, l.region, l.channel,
       c.paused_at
FROM sla_clocks c JOIN leads l USING (tenant_id, lead_id);
