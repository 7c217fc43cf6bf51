-- The exits `Reasons` lists: the same selection as exits_counts.sql, latest first, at most $6.
SELECT t.lead_id, t.to_stage AS kind, t.at, t.from_stage,
       coalesce(t.reason_code, 'unspecified') AS reason_code,
       coalesce(t.reason_text, '') AS reason_text,
       coalesce(t.exit_rep, '') AS exit_rep, coalesce(t.exit_team, '') AS exit_team,
       t.reached_stage, t.event_id
FROM stage_transitions t
WHERE t.tenant_id = $1 AND t.kind = 'exit'
  AND ($2::timestamptz IS NULL OR t.at >= $2)
  AND ($3::timestamptz IS NULL OR t.at < $3)
  AND t.to_stage = ANY ($4::text[])
  AND ($5::int IS NULL
       OR array_position(ARRAY['captured', 'mql', 'sql', 'poc', 'signed'], t.reached_stage) >= $5)
ORDER BY t.at DESC, t.lead_id, t.seq
LIMIT $6
