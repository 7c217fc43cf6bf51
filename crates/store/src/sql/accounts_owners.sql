-- Who owns an account's open leads (captured … POC, as `account_ownership_conflicts` counts
-- them), most leads first.
SELECT owner_rep_id AS rep_id, count(*)::int8 AS open_leads
FROM leads
WHERE tenant_id = $1 AND account_key = $2 AND owner_rep_id <> ''
  AND stage IN ('captured', 'mql', 'sql', 'poc')
GROUP BY owner_rep_id
ORDER BY open_leads DESC, rep_id
