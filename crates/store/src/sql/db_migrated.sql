-- The newest migration applied successfully (0: none); `_sqlx_migrations` is sqlx's ledger.
SELECT coalesce(max(version), 0) FROM _sqlx_migrations WHERE success
