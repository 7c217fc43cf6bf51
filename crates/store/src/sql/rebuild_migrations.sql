-- The statement that tells whether schemas $1 and $2 are at the same migration (the shadow
-- was built by this binary; the live schema may have been migrated since, or by a newer
-- one). Returned, not run: schema names are identifiers.
SELECT format('SELECT (SELECT coalesce(max(version), 0) FROM %I._sqlx_migrations) = '
              '(SELECT coalesce(max(version), 0) FROM %I._sqlx_migrations)', $1::text, $2::text)
