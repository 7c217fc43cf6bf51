-- One API key.
SELECT key_id, tenant_id, name, scopes, secret_sha256, created_at, expires_at, revoked_at,
       replaces
FROM api_keys WHERE key_id = $1
