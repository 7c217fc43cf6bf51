-- The statements that give the rebuild an empty shadow schema named $1: whatever an
-- interrupted rebuild left under that name goes first. Returned, not run (utility
-- statements; identifiers quoted by the server).
SELECT stmt FROM (VALUES
  (1, format('DROP SCHEMA IF EXISTS %I CASCADE', $1::text)),
  (2, format('CREATE SCHEMA %I', $1::text))
) s(n, stmt) ORDER BY n
