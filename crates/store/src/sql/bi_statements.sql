-- The statements that give role $1 read access for BI (identifiers quoted by the server):
-- the role itself when missing (LOGIN), usage of the schema, and SELECT on what migration
-- 0010 set up for BI: the tables under its `tenant_scope` policy, the views that run with
-- their caller's rights, the grant tables the policies read, and the views of the BI contract
-- (schema `bi`). Read from the catalog, so
-- a table is granted only if row-level security guards it. Returned, not run: they are
-- utility statements.
SELECT stmt FROM (
  SELECT 1 AS n, format('CREATE ROLE %I LOGIN', $1::text) AS stmt
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1::text)
  UNION ALL
  SELECT 2, format('GRANT USAGE ON SCHEMA %I TO %I', current_schema(), $1::text)
  UNION ALL
  SELECT 3, format('GRANT SELECT ON %s TO %I',
    string_agg(format('%I', c.relname), ', ' ORDER BY c.relname), $1::text)
  FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
  WHERE s.nspname = current_schema()
    AND ((c.relkind = 'r' AND EXISTS (SELECT 1 FROM pg_policies p
            WHERE p.schemaname = s.nspname AND p.tablename = c.relname
              AND p.policyname = 'tenant_scope'))
      OR (c.relkind = 'v' AND 'security_invoker=true' = ANY (c.reloptions))
      OR c.relname IN ('bi_grants', 'rls_app_roles'))
  UNION ALL
  -- The BI contract (schema `bi`, docs/BI.md), once published.
  SELECT 4, format('GRANT USAGE ON SCHEMA bi TO %I', $1::text)
  WHERE to_regnamespace('bi') IS NOT NULL
  UNION ALL
  SELECT 5, format('GRANT SELECT ON ALL TABLES IN SCHEMA bi TO %I', $1::text)
  WHERE to_regnamespace('bi') IS NOT NULL
) s ORDER BY n
