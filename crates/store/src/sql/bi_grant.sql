-- Lets BI role $1 read tenant $2.
INSERT INTO bi_grants (role_name, tenant_id) VALUES ($1, $2) ON CONFLICT DO NOTHING
