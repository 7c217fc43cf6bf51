-- Follows sla_reports_clocks_at.sql ($1-$5): the clocks in one of the states $11, after the
-- cursor ($6 due_at, NULL on the first page; $7 lead, $8 policy, $9 start event), earliest
-- due first, at most $10.
SELECT lead_id, policy_id, policy_version, start_event_id, started_at,
  due_at, state, paused_at, owner_team, owner_queue, owner_rep_id, owner_partner_id
FROM clocks WHERE state = ANY($11)
  AND ($6::timestamptz IS NULL
       OR (due_at, lead_id, policy_id, start_event_id) > ($6, $7, $8, $9))
ORDER BY due_at, lead_id, policy_id, start_event_id LIMIT $10
