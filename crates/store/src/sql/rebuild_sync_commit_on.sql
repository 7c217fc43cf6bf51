-- The swap commits durably whatever the session's default: its WAL flush also makes every
-- earlier (asynchronous) commit of the shadow's projection durable.
SET LOCAL synchronous_commit = on
