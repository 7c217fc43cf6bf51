-- Unowned leads in mql with their latest transition into mql, oldest first, at most $1; of
-- the tenants $2, plus, when $3, every tenant not in $4.
SELECT l.tenant_id, l.lead_id, l.region, l.industry, l.segment, l.channel,
  t.event_id, t.at
FROM leads l
CROSS JOIN LATERAL (SELECT t.event_id, t.at FROM stage_transitions t
  WHERE t.tenant_id = l.tenant_id AND t.lead_id = l.lead_id AND t.to_stage = 'mql'
  ORDER BY t.seq DESC LIMIT 1) t
WHERE l.stage = 'mql' AND l.owner_team = '' AND l.owner_queue = ''
  AND l.owner_rep_id = '' AND l.owner_partner_id = ''
  AND (l.tenant_id = ANY($2) OR ($3 AND NOT l.tenant_id = ANY($4)))
ORDER BY t.at, t.event_id
LIMIT $1
