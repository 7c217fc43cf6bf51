-- The currency most of tenant $1's signed leads are in (ties: alphabetical), read from the
-- month cells: a cell's currency is set only for signed leads, and its `signed` counts them.
SELECT currency FROM funnel_month_cells WHERE tenant_id = $1 AND currency <> ''
GROUP BY 1 HAVING sum(signed) > 0 ORDER BY sum(signed) DESC, 1 LIMIT 1
