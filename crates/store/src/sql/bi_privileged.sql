-- Whether role $1 reads every row whatever its grants: a superuser, a BYPASSRLS role or one
-- of leadledger's own (`rls_app_roles`). Such a role must not be handed out as a BI role.
SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1 AND (rolsuper OR rolbypassrls))
    OR EXISTS (SELECT 1 FROM rls_app_roles WHERE role_name = $1)
