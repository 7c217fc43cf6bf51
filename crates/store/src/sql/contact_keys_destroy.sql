-- Destroys every live data key of one lead ($1 tenant, $2 lead); returns how many.
UPDATE contact_keys SET key = NULL, destroyed_at = now()
WHERE tenant_id = $1 AND lead_id = $2 AND key IS NOT NULL
RETURNING key_id
