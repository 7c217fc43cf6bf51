-- Takes tenant $2 away from BI role $1; returns whether it had it.
DELETE FROM bi_grants WHERE role_name = $1 AND tenant_id = $2 RETURNING role_name
