-- Every BI grant.
SELECT role_name, tenant_id, granted_at FROM bi_grants ORDER BY role_name, tenant_id
