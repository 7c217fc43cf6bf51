SELECT stage, entered_at, exited_at FROM stage_visits
WHERE tenant_id = $1 AND lead_id = $2 ORDER BY seq
