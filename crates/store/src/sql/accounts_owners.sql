-- Who owns an account's open leads (not signed, lost or disqualified), most leads first.
SELECT owner_rep_id AS rep_id, count(*)::int8 AS open_leads
FROM leads
WHERE tenant_id = $1 AND account_key = $2 AND owner_rep_id <> ''
  AND stage IS DISTINCT FROM 'signed' AND stage IS DISTINCT FROM 'lost'
  AND stage IS DISTINCT FROM 'disqualified'
GROUP BY owner_rep_id
ORDER BY open_leads DESC, rep_id
