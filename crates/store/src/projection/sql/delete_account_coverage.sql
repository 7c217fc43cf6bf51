-- The coverage slots a batch took away.
DELETE FROM account_coverage c
USING UNNEST($1::text[], $2::text[], $3::text[], $4::text[]) AS d(tenant_id, account_key, role, rep_id)
WHERE c.tenant_id = d.tenant_id AND c.account_key = d.account_key AND c.role = d.role
  AND c.rep_id = d.rep_id
