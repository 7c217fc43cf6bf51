INSERT INTO attribution_state (singleton, fingerprint, models) VALUES (true, $1, $2)
ON CONFLICT (singleton) DO UPDATE SET fingerprint = EXCLUDED.fingerprint,
  models = EXCLUDED.models
