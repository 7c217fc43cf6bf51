-- The account colleagues of those of the leads `($1[i], $2[i])` that have signed: a signing
-- may make their account a customer, which changes the referrals its leads made.
SELECT DISTINCT c.tenant_id, c.lead_id
FROM UNNEST($1::text[], $2::text[]) AS d(tenant_id, lead_id)
JOIN leads l ON l.tenant_id = d.tenant_id AND l.lead_id = d.lead_id
  AND l.signed_at IS NOT NULL AND l.account_key <> ''
JOIN leads c ON c.tenant_id = l.tenant_id AND c.account_key = l.account_key
  AND c.lead_id <> l.lead_id
