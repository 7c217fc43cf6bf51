-- Exits counted by group, kind and reason code (`Reasons`), with the distinct leads behind
-- them. /*KEY*/ is the group key, built
-- from fixed expressions (exits.rs), never from user input. $4: the exit stages; $5: only
-- exits of leads that had reached this main-line rank (1 = captured … 5 = signed) or beyond.
SELECT /*KEY*/ AS key, t.to_stage AS kind,
       coalesce(t.reason_code, 'unspecified') AS code, count(*) AS exits,
       count(DISTINCT t.lead_id) AS leads
FROM stage_transitions t
JOIN leads l ON l.tenant_id = t.tenant_id AND l.lead_id = t.lead_id
WHERE t.tenant_id = $1 AND t.kind = 'exit'
  AND ($2::timestamptz IS NULL OR t.at >= $2)
  AND ($3::timestamptz IS NULL OR t.at < $3)
  AND t.to_stage = ANY ($4::text[])
  AND ($5::int IS NULL
       OR array_position(ARRAY['captured', 'mql', 'sql', 'poc', 'signed'], t.reached_stage) >= $5)
GROUP BY 1, 2, 3
