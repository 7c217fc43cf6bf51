-- The signed leads by tenant, currency and capture time, with what `Roi`'s turnover reads
-- (crates/store/src/sql/spend_turnover.sql: the capture → signed time of a period's won
-- leads, per channel or campaign). Without it the statement read every lead of the tenant to
-- find the signed ones of the period (a parallel scan, ~140 ms at 1M leads); with the
-- covered columns it is an index-only scan of those leads (~25 ms for a quarter, ~8 ms for a
-- month; measured in docs/BENCHMARKS-attribution.md's run, 2026-12-04).
CREATE INDEX leads_signed_by_capture ON leads (tenant_id, signed_currency, captured_at)
    INCLUDE (channel, campaign, signed_at)
    WHERE max_rank >= 5;
