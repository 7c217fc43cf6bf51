-- The funnel, pre-aggregated: one row per (capture day, channel, campaign, region, industry,
-- segment, signed currency) with the number of leads that reached each main-line stage.
-- Maintained by the projection transaction as "new − old" of every re-folded lead, so it
-- always equals aggregating `leads` (asserted by the tests), at a fraction of the cost for
-- large tenants. Leads with no capture yet (only touches so far) sit on day 1970-01-01, which
-- no capture can have (the earliest accepted business time is 2000-01-01).
CREATE TABLE funnel_cells (
    tenant_id            text   NOT NULL,
    capture_day          date   NOT NULL,
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
    PRIMARY KEY (tenant_id, capture_day, channel, campaign, region, industry, segment, currency)
);
-- Cells netted to zero are deleted after each move; this finds them without a scan.
CREATE INDEX funnel_cells_empty ON funnel_cells (tenant_id) WHERE captured = 0;

INSERT INTO funnel_cells
SELECT tenant_id,
       coalesce((captured_at AT TIME ZONE 'UTC')::date, '1970-01-01'::date),
       channel, campaign, region, industry, segment,
       CASE WHEN max_rank >= 5 THEN signed_currency ELSE '' END,
       count(*),
       count(*) FILTER (WHERE max_rank >= 2),
       count(*) FILTER (WHERE max_rank >= 3),
       count(*) FILTER (WHERE max_rank >= 4),
       count(*) FILTER (WHERE max_rank >= 5),
       coalesce(sum(signed_amount_minor) FILTER (WHERE max_rank >= 5), 0)
FROM leads
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
