-- The keys not destroyed among $1 (key ids).
SELECT key_id, key FROM contact_keys WHERE key_id = ANY($1::uuid[]) AND key IS NOT NULL
