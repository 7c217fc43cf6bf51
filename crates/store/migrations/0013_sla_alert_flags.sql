-- Whether each clock's at-risk and breach alerts are in its lead's timeline (issue 20). The
-- SLA worker's due-alert query used to visit every running clock past its at-risk instant
-- and look its alerts up in `lead_events`: a clock breached months ago and alerted twice was
-- visited on every poll (500 000 such clocks: 2.1 s per poll returning nothing). With the
-- flags, the projection records the alerts as it folds them (derived from the timeline, so
-- a replay gives the same rows), and the query reads only the clocks whose breach alert is
-- still missing (`sla_clocks_alert_due`).
--
-- Online: the columns have constant defaults (no table rewrite); the backfill is one UPDATE
-- of the running clocks; the index build holds writes to `sla_clocks` (not reads) while it
-- runs, seconds at a million clocks.
ALTER TABLE sla_clocks
    ADD COLUMN at_risk_alerted boolean NOT NULL DEFAULT false,
    ADD COLUMN breach_alerted  boolean NOT NULL DEFAULT false;

UPDATE sla_clocks c
SET at_risk_alerted = EXISTS (SELECT 1 FROM lead_events e
                              WHERE e.event_id = c.at_risk_event_id AND e.tenant_id = c.tenant_id),
    breach_alerted  = EXISTS (SELECT 1 FROM lead_events e
                              WHERE e.event_id = c.breach_event_id AND e.tenant_id = c.tenant_id)
WHERE c.status = 'running';

CREATE INDEX sla_clocks_alert_due ON sla_clocks (at_risk_at)
    WHERE status = 'running' AND NOT breach_alerted;
