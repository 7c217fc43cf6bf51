SELECT from_stage, to_stage, at, event_id, kind, skipped,
       reason_code, reason_text, exit_rep, exit_team, reached_stage
FROM stage_transitions
WHERE tenant_id = $1 AND lead_id = $2 ORDER BY seq
