-- Whether this role can carry a rebuild of schema $1 through: rename the schema (own it,
-- directly or through a role such as pg_database_owner), create the shadow schema, and read
-- every row of the carried tables (a superuser or BYPASSRLS role, or one of leadledger's
-- app roles: row-level security would hide other roles' BI grants from anyone else).
SELECT pg_has_role(current_user, n.nspowner, 'USAGE'),
       has_database_privilege(current_database(), 'CREATE'),
       (SELECT r.rolsuper OR r.rolbypassrls FROM pg_roles r WHERE r.rolname = current_user)
         OR EXISTS (SELECT 1 FROM rls_app_roles a WHERE a.role_name = current_user)
FROM pg_namespace n WHERE n.nspname = $1
