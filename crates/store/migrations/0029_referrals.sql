-- no-transaction
-- Referrals (issue 18 item 4, docs/ATTRIBUTION.md "Referrals"): a `ReferredBy` fact is a
-- touch of the referrer's channel on the referred lead's path, resolved when credits are
-- computed. When a referrer changes, the credits worker recomputes the leads it referred;
-- this partial index finds them from the timeline rows themselves (the JSON body the
-- projector already writes: no table of its own, nothing written for other events). Built
-- CONCURRENTLY, so a large `lead_events` keeps taking writes while it builds (hence no
-- transaction, as migration 0021).
CREATE INDEX CONCURRENTLY IF NOT EXISTS lead_events_by_referrer
    ON lead_events (tenant_id, ((body -> 'payload' -> 'ReferredBy' ->> 'referrer')))
    WHERE event_type = 'referred_by';
