-- Revokes a key now; returns it when it was live.
UPDATE api_keys SET revoked_at = now() WHERE key_id = $1 AND revoked_at IS NULL
RETURNING key_id
