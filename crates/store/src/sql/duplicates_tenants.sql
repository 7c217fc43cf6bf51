-- The tenants with duplicate keys, by a skip scan of the keys' primary key (one index probe per
-- tenant, not a scan of every lead): the tenants the auto-merge worker looks at.
WITH RECURSIVE t AS (
    (SELECT tenant_id FROM lead_match_keys ORDER BY tenant_id LIMIT 1)
    UNION ALL
    SELECT (SELECT l.tenant_id FROM lead_match_keys l
             WHERE l.tenant_id > t.tenant_id ORDER BY l.tenant_id LIMIT 1)
      FROM t
     WHERE t.tenant_id IS NOT NULL
)
SELECT tenant_id FROM t WHERE tenant_id IS NOT NULL
