-- The funnel, pre-aggregated by month: `funnel_cells` (0004) summed over the days of each
-- calendar month (UTC). A quarter is ~180k day cells at 1M leads; whole months of a range are
-- read from here and only the partial months at its edges from `funnel_cells`. One row per
-- (capture month, channel, campaign, region, industry, segment, signed currency);
-- `capture_month` is the first day of the month. Leads with no capture yet sit on 1970-01-01,
-- as on the day table. Maintained in the same statement that moves `funnel_cells` (the
-- projection transaction, "new − old" of every re-folded lead), so it always equals the day
-- cells summed by month, row for row (asserted by the tests).
CREATE TABLE funnel_month_cells (
    tenant_id            text   NOT NULL,
    capture_month        date   NOT NULL,   -- first day of the month; 1970-01-01: not captured
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
    PRIMARY KEY (tenant_id, capture_month, channel, campaign, region, industry, segment, currency)
);
-- Cells netted to zero are deleted after each move; this finds them without a scan.
CREATE INDEX funnel_month_cells_empty ON funnel_month_cells (tenant_id) WHERE captured = 0;

-- (The cast to timestamp keeps date_trunc off the session time zone.)
INSERT INTO funnel_month_cells
SELECT tenant_id,
       date_trunc('month', capture_day::timestamp)::date,
       channel, campaign, region, industry, segment, currency,
       sum(captured)::bigint,
       sum(mql)::bigint,
       sum(sql)::bigint,
       sum(poc)::bigint,
       sum(signed)::bigint,
       sum(signed_amount_minor)::bigint
FROM funnel_cells
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
