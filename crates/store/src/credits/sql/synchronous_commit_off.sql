-- As for the core projection (projection/sql/synchronous_commit_off.sql): a lost tail
-- transaction is recomputed from the queue.
SET LOCAL synchronous_commit = off
