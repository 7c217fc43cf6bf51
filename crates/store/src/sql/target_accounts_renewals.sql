-- The renewals of accounts $2 of tenant $1, by account, date, contract.
SELECT account_key, contract_id, renews_on, amount_minor, currency FROM account_renewals
WHERE tenant_id = $1 AND account_key = ANY($2)
ORDER BY account_key, renews_on, contract_id
