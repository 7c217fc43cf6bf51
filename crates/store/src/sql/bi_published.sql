-- Whether the BI contract stands as this binary publishes it: every view $2 in schema `bi`,
-- the tag $3 on `bi.funnel_months`, and each view reading relations of schema $1 only (the
-- live schema; after a rebuild by an older binary they could still read the retired one).
SELECT coalesce(
  count(DISTINCT v.relname) = cardinality($2::text[])
  AND bool_and(coalesce(
        obj_description(to_regclass('bi.funnel_months'), 'pg_class') = $3::text, false))
  AND bool_and(NOT EXISTS (
        SELECT 1 FROM pg_depend d
        JOIN pg_rewrite r ON r.oid = d.objid
        JOIN pg_class t ON t.oid = d.refobjid
        JOIN pg_namespace tn ON tn.oid = t.relnamespace
        WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
          AND r.ev_class = v.oid AND d.refobjid <> v.oid AND tn.nspname <> $1::text)),
  false)
FROM pg_class v
WHERE v.relnamespace = to_regnamespace('bi') AND v.relkind = 'v' AND v.relname = ANY ($2::text[])
