-- The W3C `traceparent` of the projector batch that last moved each checkpoint (NULL when
-- traces are off): a query that waited for a consistency token links its trace to the batch
-- whose commit satisfied it (issue 16). Nullable without a default: adding it rewrites
-- nothing and takes its lock only for an instant (an online migration).
ALTER TABLE projector_checkpoints ADD COLUMN batch_trace text;
