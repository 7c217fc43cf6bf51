-- Ends a rotated key's life at now() + $2 (sooner if it already expires before); only a
-- live key (not revoked, not expired) can be rotated.
UPDATE api_keys
SET expires_at = LEAST(COALESCE(expires_at, 'infinity'), now() + make_interval(secs => $2::float8))
WHERE key_id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
RETURNING key_id
