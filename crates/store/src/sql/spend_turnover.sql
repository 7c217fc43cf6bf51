-- Capture → signed of tenant $1's leads captured in [$4, $5) and signed in currency $3, per
-- channel (or campaign when $2): nearest-rank P50 and P90 in seconds (percentile_disc takes
-- the first value whose rank reaches the fraction), and how many.
SELECT CASE WHEN $2 THEN campaign ELSE channel END AS value,
       percentile_disc(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM signed_at - captured_at)::float8),
       percentile_disc(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM signed_at - captured_at)::float8),
       count(*)
FROM leads
WHERE tenant_id = $1 AND max_rank >= 5 AND signed_currency = $3 AND signed_at IS NOT NULL
  AND captured_at >= $4 AND captured_at < $5
GROUP BY 1
ORDER BY 1
