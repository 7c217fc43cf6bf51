-- Registers role $1 as one that reads and writes every tenant (leadledger itself).
INSERT INTO rls_app_roles (role_name) VALUES ($1) ON CONFLICT DO NOTHING
