-- Unowned leads in mql with their latest transition into mql, oldest first, at most $1; of
-- the tenants $2, plus, when $3, every tenant not in $4. With each, its account's tier and
-- the rep who owns the account (docs/IDENTITY.md, "Account ownership").
SELECT l.tenant_id, l.lead_id, l.region, l.industry, l.segment, l.channel,
  t.event_id AS mql_event_id, t.at AS mql_at, l.account_key,
  coalesce(h.tier, '') AS tier, coalesce(h.holder_rep_id, '') AS holder_rep_id,
  coalesce(h.holder_team, '') AS holder_team, h.holder_since,
  coalesce(h.holder_by, '') AS holder_by
FROM leads l
CROSS JOIN LATERAL (SELECT t.event_id, t.at FROM stage_transitions t
  WHERE t.tenant_id = l.tenant_id AND t.lead_id = l.lead_id AND t.to_stage = 'mql'
  ORDER BY t.seq DESC LIMIT 1) t
LEFT JOIN account_holdings h ON h.tenant_id = l.tenant_id AND h.account_key = l.account_key
WHERE l.stage = 'mql' AND l.owner_team = '' AND l.owner_queue = ''
  AND l.owner_rep_id = '' AND l.owner_partner_id = ''
  AND (l.tenant_id = ANY($2) OR ($3 AND NOT l.tenant_id = ANY($4)))
ORDER BY t.at, t.event_id
LIMIT $1
