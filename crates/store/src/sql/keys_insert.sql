-- A new API key (its secret only as a hash) or client-certificate binding.
INSERT INTO api_keys (key_id, tenant_id, name, scopes, secret_sha256, expires_at, replaces,
                      client_cert)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
