-- Tenant $1's spend statements in currency $2 whose period has days in [$3, $4) (dates).
SELECT channel, campaign, period_start, period_end, amount_minor, currency
FROM marketing_spend
WHERE tenant_id = $1 AND currency = $2 AND period_start < $4 AND period_end >= $3
ORDER BY channel, campaign, period_start, period_end
