-- The swap's bounds for the rest of its transaction: $1 the longest wait for any one table
-- lock, $2 the longest any one statement (the LOCK of every table) may take; '0' lifts them.
SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true)
