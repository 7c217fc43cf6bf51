-- Every day cell of `funnel_cells`, recomputed from `leads` (the not-captured leads on
-- 1970-01-01; the signed currency, amount and collected amount only for signed leads).
INSERT INTO funnel_cells
SELECT tenant_id, coalesce((captured_at AT TIME ZONE 'UTC')::date, DATE '1970-01-01'),
  channel, campaign, region, industry, segment,
  CASE WHEN max_rank >= 5 THEN signed_currency ELSE '' END,
  count(*), count(*) FILTER (WHERE max_rank >= 2), count(*) FILTER (WHERE max_rank >= 3),
  count(*) FILTER (WHERE max_rank >= 4), count(*) FILTER (WHERE max_rank >= 5),
  coalesce(sum(signed_amount_minor) FILTER (WHERE max_rank >= 5), 0),
  coalesce(sum(collected_amount_minor) FILTER (WHERE max_rank >= 5), 0)
FROM leads GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
