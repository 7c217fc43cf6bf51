-- The live data key of each lead of $1/$2 (tenants, leads, pairwise), made from $3/$4 (key
-- ids, keys) for a lead that has none, in one round trip. A key made by a concurrent caller
-- after this statement's snapshot is neither inserted (conflict) nor seen: the caller asks
-- again for the leads missing from the answer.
WITH wanted AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[], $4::bytea[])
    AS w (tenant_id, lead_id, key_id, key)
), made AS (
  INSERT INTO contact_keys (key_id, tenant_id, lead_id, key)
  SELECT key_id, tenant_id, lead_id, key FROM wanted
  ON CONFLICT (tenant_id, lead_id) WHERE key IS NOT NULL DO NOTHING
  RETURNING tenant_id, lead_id, key_id, key
)
SELECT tenant_id, lead_id, key_id, key FROM made
UNION ALL
SELECT c.tenant_id, c.lead_id, c.key_id, c.key
FROM wanted w
JOIN contact_keys c ON c.tenant_id = w.tenant_id AND c.lead_id = w.lead_id AND c.key IS NOT NULL
