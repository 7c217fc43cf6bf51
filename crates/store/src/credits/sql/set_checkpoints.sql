-- The credits' checkpoints ($1 projection, $2 topic) set to the core ones they are level
-- with, and the waiting attribution queries woken ($5 channel) at commit.
WITH up AS (
  INSERT INTO projector_checkpoints (projection, topic, partition, next_offset)
  SELECT $1, $2, p, o FROM UNNEST($3::int4[], $4::int8[]) AS c(p, o)
  ON CONFLICT (projection, topic, partition)
  DO UPDATE SET next_offset = EXCLUDED.next_offset
  RETURNING 1
)
SELECT pg_notify($5, $2)
