-- The company name most of an account's leads give (ties: the smallest).
SELECT company_name
FROM leads
WHERE tenant_id = $1 AND account_key = $2 AND company_name <> ''
GROUP BY company_name
ORDER BY count(*) DESC, company_name
LIMIT 1
