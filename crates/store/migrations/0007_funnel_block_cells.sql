-- The funnel, pre-aggregated by block: `funnel_cells` (0004) summed over fixed blocks of days
-- inside each calendar month (UTC): days 1–7, 8–14, 15–21, 22–28 and 29 to the end of the
-- month. Blocks never cross a month, so the block cells of a month sum exactly to its month
-- cells (0006) and the day cells of a block to its block cells.
--
-- Why: with only day and month cells, a range with both edges mid-month read each partial
-- edge month from up to half a month of day cells (~2 000 cells a day at 1M leads; p99 66 ms
-- for 04-15..06-10). Now a partial month is read from its whole blocks here plus at most three
-- days of day cells per edge (or as its month cell minus the blocks and days outside the
-- range, when that is cheaper).
--
-- One row per (capture block, channel, campaign, region, industry, segment, signed currency);
-- `capture_block` is the block's first day (the 1st, 8th, 15th, 22nd or 29th). Leads with no
-- capture yet sit on 1970-01-01, as on the day and month tables (its own block, as it is its
-- own month). Maintained in the same statement that moves `funnel_cells` and
-- `funnel_month_cells` (the projection transaction, "new − old" of every re-folded lead), so it
-- always equals the day cells summed by block, row for row (asserted by the tests). Emptied
-- cells are deleted by key, and the 10 % left free on each page keeps updates HOT (0006).
CREATE TABLE funnel_block_cells (
    tenant_id            text   NOT NULL,
    capture_block        date   NOT NULL,   -- first day of the block; 1970-01-01: not captured
    channel              text   NOT NULL,
    campaign             text   NOT NULL,
    region               text   NOT NULL,
    industry             text   NOT NULL,
    segment              text   NOT NULL,
    currency             text   NOT NULL,   -- signed leads' currency; '' for the others
    captured             bigint NOT NULL,   -- every lead (as the funnel counts them)
    mql                  bigint NOT NULL,
    sql                  bigint NOT NULL,
    poc                  bigint NOT NULL,
    signed               bigint NOT NULL,
    signed_amount_minor  bigint NOT NULL,
    PRIMARY KEY (tenant_id, capture_block, channel, campaign, region, industry, segment, currency)
) WITH (fillfactor = 90);

-- A day's block starts `(day of month − 1) % 7` days before it: 28 is a multiple of 7, so the
-- 29th–31st fall back to the 29th (and 1970-01-01, a 1st, is its own block).
INSERT INTO funnel_block_cells
SELECT tenant_id,
       capture_day - (extract(day FROM capture_day)::int - 1) % 7,
       channel, campaign, region, industry, segment, currency,
       sum(captured)::bigint,
       sum(mql)::bigint,
       sum(sql)::bigint,
       sum(poc)::bigint,
       sum(signed)::bigint,
       sum(signed_amount_minor)::bigint
FROM funnel_cells
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
