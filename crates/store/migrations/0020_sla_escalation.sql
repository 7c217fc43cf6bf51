-- Escalation ladders (issue 19, docs/SLA.md "Escalation"): a running clock stores its
-- policy's next escalation step not taken yet (an `sla_escalated` fact naming the clock and
-- the step is in the lead's timeline once it is) and that step's instant. NULL instant: no
-- step left, the clock ended, or a pause that began before the step holds it.
--
-- Online: nullable columns without a default (no table rewrite). Rows projected before this
-- migration get their step from the re-evaluation of every clock at the next start
-- (migration 0023).
ALTER TABLE sla_clocks ADD COLUMN escalation_step text;
ALTER TABLE sla_clocks ADD COLUMN escalation_at timestamptz;

-- The SLA worker polls the steps due: few rows, found by this index.
CREATE INDEX sla_clocks_escalation_due ON sla_clocks (escalation_at)
  WHERE escalation_at IS NOT NULL;
