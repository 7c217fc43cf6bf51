-- Moves the checkpoints of projection $1 on topic $2 to ($3 partition, $4 next offset),
-- noting the batch's `traceparent` $6 (NULL when traces are off) where a checkpoint moves,
-- and returns the ones stored before (`prev` reads them as they were before the upsert of
-- the same statement). GREATEST: a zombie projector that lost its partition can never move
-- a checkpoint back. The notification on channel $5 rides on the same statement (one round
-- trip less per batch): it is delivered at commit, so queries waiting on a consistency token
-- wake up at once. The one-row `n` in FROM makes it run exactly once, even when `prev` is
-- empty (the partitions' first batch), which then yields one row of NULLs.
WITH prev AS (
  SELECT partition, next_offset FROM projector_checkpoints
  WHERE projection = $1 AND topic = $2
), up AS (
  INSERT INTO projector_checkpoints (projection, topic, partition, next_offset, batch_trace)
  SELECT $1, $2, p, o, $6 FROM UNNEST($3::int4[], $4::int8[]) AS c(p, o)
  ON CONFLICT (projection, topic, partition)
  DO UPDATE SET
    next_offset = GREATEST(projector_checkpoints.next_offset, EXCLUDED.next_offset),
    batch_trace = CASE WHEN EXCLUDED.next_offset > projector_checkpoints.next_offset
                       THEN EXCLUDED.batch_trace ELSE projector_checkpoints.batch_trace END
  RETURNING 1
)
SELECT prev.partition, prev.next_offset
FROM (SELECT pg_notify($5, $2)) AS n LEFT JOIN prev ON true
