-- Safe for a projection: a crash can lose only whole recent transactions, each together with
-- its checkpoint (what is durable is always a prefix of the commit order), and the projector
-- re-applies them from the log. Saves a WAL flush per batch, which is most of a small batch's
-- latency. The check in `move_checkpoints` is what makes the projector notice such a loss:
-- its own view of the checkpoints is ahead of the database's after the crash, and even on a
-- fresh connection (the pool replaces dead ones silently) the stored checkpoint is compared
-- with it in the transaction that would move it.
SET LOCAL synchronous_commit = off
