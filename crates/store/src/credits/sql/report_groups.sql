-- Credit per dimension value of one model ($4, by its position in the stored model set).
SELECT value, sum(credits[m.i])::int8 AS credit
FROM attribution_totals,
     (SELECT array_position(models, $4) AS i FROM attribution_state) m
WHERE tenant_id = $1 AND level = $2 AND conversion = $3 AND basis = $5
  AND dimension = $6 AND currency = $7
  AND ($8::date IS NULL OR day >= $8) AND ($9::date IS NULL OR day < $9)
GROUP BY value HAVING sum(credits[m.i]) <> 0
