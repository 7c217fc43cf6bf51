SELECT coalesce(sum(conversions), 0)::int8, coalesce(sum(unattributed), 0)::int8
FROM attribution_period_totals
WHERE tenant_id = $1 AND level = $2 AND conversion = $3 AND basis = $4
  AND currency = $5
  AND ($6::date IS NULL OR day >= $6) AND ($7::date IS NULL OR day < $7)
