-- Every API key and certificate binding, live or not (the key ring tells a revoked key from
-- an unknown one).
SELECT key_id, tenant_id, name, scopes, secret_sha256, created_at, expires_at, revoked_at,
       replaces, client_cert
FROM api_keys ORDER BY tenant_id, created_at, key_id
