-- Queues re-folded leads for the credits worker, in the projection transaction itself: the
-- credits it computes can never miss a fact the checkpoint covers.
INSERT INTO attribution_dirty (tenant_id, lead_id)
SELECT * FROM UNNEST($1::text[], $2::text[])
