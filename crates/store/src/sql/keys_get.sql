-- One API key or certificate binding.
SELECT key_id, tenant_id, name, scopes, secret_sha256, created_at, expires_at, revoked_at,
       replaces, client_cert
FROM api_keys WHERE key_id = $1
