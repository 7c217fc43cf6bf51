-- Collected revenue (issue 17, "The revenue equation"): a lead's payments in the currency of
-- its contract (`PaymentCollected` facts; 0 unless signed), on the lead and summed into the
-- funnel cells beside the signed amount, so `RevenueEquation` reads the cells as `Funnel`
-- does.
--
-- Online: a column with a constant default is no table rewrite. No backfill is needed:
-- `PaymentCollected` is new with this release, so no stored lead has folded one. A receipt
-- appended by this release while an older one still projected (a rolling upgrade) sits in
-- `lead_events` as an event of unknown type; the lead's next event re-folds it, and
-- `leadledger rebuild` re-projects everything (docs/OPERATIONS.md, "Upgrades").
ALTER TABLE leads ADD COLUMN collected_amount_minor bigint NOT NULL DEFAULT 0;
ALTER TABLE funnel_cells ADD COLUMN collected_amount_minor bigint NOT NULL DEFAULT 0;
ALTER TABLE funnel_block_cells ADD COLUMN collected_amount_minor bigint NOT NULL DEFAULT 0;
ALTER TABLE funnel_month_cells ADD COLUMN collected_amount_minor bigint NOT NULL DEFAULT 0;
