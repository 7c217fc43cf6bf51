-- What a swap would retire with the live schema $1 although it is not leadledger's: objects
-- of $1 with no namesake in the shadow $2 (which the migrations built) that are not carried
-- over ($3), extensions installed in $1, and views elsewhere that read $1's tables (but the
-- BI contract's views $4, which the swap points at the shadow). The
-- rebuild refuses to swap while any is there (dropping the retired schema would take them).
SELECT d FROM (
  SELECT 'table, view or sequence ' || l.relname AS d
  FROM pg_class l JOIN pg_namespace ln ON ln.oid = l.relnamespace
  WHERE ln.nspname = $1 AND l.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
    AND l.relname <> ALL ($3::text[])
    AND NOT EXISTS (
      SELECT 1 FROM pg_class s JOIN pg_namespace sn ON sn.oid = s.relnamespace
      WHERE sn.nspname = $2 AND s.relname = l.relname)
  UNION ALL
  SELECT 'function ' || p.proname
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  WHERE n.nspname = $1
    AND NOT EXISTS (
      SELECT 1 FROM pg_proc q JOIN pg_namespace m ON m.oid = q.pronamespace
      WHERE m.nspname = $2 AND q.proname = p.proname)
  UNION ALL
  SELECT 'type ' || t.typname
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
  WHERE n.nspname = $1 AND t.typrelid = 0 AND t.typname NOT LIKE '\_%'
    AND NOT EXISTS (
      SELECT 1 FROM pg_type u JOIN pg_namespace m ON m.oid = u.typnamespace
      WHERE m.nspname = $2 AND u.typname = t.typname)
  UNION ALL
  SELECT 'extension ' || e.extname
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
  WHERE n.nspname = $1
  UNION ALL
  SELECT DISTINCT 'view ' || vn.nspname || '.' || v.relname || ' (reads ' || t.relname || ')'
  FROM pg_depend d
  JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND r.oid = d.objid
  JOIN pg_class v ON v.oid = r.ev_class
  JOIN pg_namespace vn ON vn.oid = v.relnamespace
  JOIN pg_class t ON d.refclassid = 'pg_class'::regclass AND t.oid = d.refobjid
  JOIN pg_namespace tn ON tn.oid = t.relnamespace
  WHERE tn.nspname = $1 AND vn.nspname <> $1
    -- The BI contract's own views (sql/bi_contract.sql): the swap points them at the new
    -- schema before the retired one is dropped.
    AND NOT (vn.nspname = 'bi' AND v.relname = ANY ($4::text[]))
    -- The shadow's view of the live data keys (sql/rebuild_share_keys.sql): the swap drops it
    -- and moves the live table in its place.
    AND NOT (vn.nspname = $2 AND v.relname = 'contact_keys' AND t.relname = 'contact_keys')
) o ORDER BY d
