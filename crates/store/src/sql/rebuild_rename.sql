-- The swap: the live schema $1 becomes $3 (retired), the shadow $2 takes its name. Run in
-- one transaction with every table of $1 locked, so a reader sees the old schema or the new
-- one, never a mixture. Returned, not run.
SELECT stmt FROM (VALUES
  (1, format('ALTER SCHEMA %I RENAME TO %I', $1::text, $3::text)),
  (2, format('ALTER SCHEMA %I RENAME TO %I', $2::text, $1::text))
) s(n, stmt) ORDER BY n
