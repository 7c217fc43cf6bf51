-- The statements that give the objects of the shadow $2 the privileges their namesakes in
-- schema $1 have (the schema itself, tables, views, sequences): BI roles and the service's
-- own role read the rebuilt schema as they read the old one. Returned, not run.
WITH acl AS (
  SELECT 'SCHEMA' AS kind, NULL::text AS name, a.*
  FROM pg_namespace n CROSS JOIN LATERAL aclexplode(n.nspacl) a
  WHERE n.nspname = $1
  UNION ALL
  SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, c.relname::text, a.*
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  CROSS JOIN LATERAL aclexplode(c.relacl) a
  WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
    AND EXISTS (SELECT 1 FROM pg_class s JOIN pg_namespace sn ON sn.oid = s.relnamespace
                WHERE sn.nspname = $2 AND s.relname = c.relname)
)
SELECT format('GRANT %s ON %s %s TO %s%s',
  acl.privilege_type,
  acl.kind,
  CASE WHEN acl.name IS NULL THEN format('%I', $2::text)
       ELSE format('%I.%I', $2::text, acl.name) END,
  CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END,
  CASE WHEN acl.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
FROM acl LEFT JOIN pg_roles r ON r.oid = acl.grantee
WHERE acl.grantee = 0 OR r.rolname IS NOT NULL
