-- The currency most of tenant $1's signed leads are in (ties: alphabetical).
SELECT signed_currency FROM leads WHERE tenant_id = $1 AND max_rank >= 5
GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1
