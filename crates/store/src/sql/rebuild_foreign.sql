-- Tables of the live schema $1 that the migrations did not create in the shadow $2 and
-- that are not carried over ($3): they are not leadledger's, and a swap would move them out
-- of sight, so the rebuild refuses to swap while they are there.
SELECT l.relname::text
FROM pg_class l JOIN pg_namespace ln ON ln.oid = l.relnamespace
WHERE ln.nspname = $1 AND l.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND l.relname <> ALL ($3::text[])
  AND NOT EXISTS (
    SELECT 1 FROM pg_class s JOIN pg_namespace sn ON sn.oid = s.relnamespace
    WHERE sn.nspname = $2 AND s.relname = l.relname)
ORDER BY 1
