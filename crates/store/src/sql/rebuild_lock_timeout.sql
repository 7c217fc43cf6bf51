-- How long the swap waits for a table lock ($1, e.g. '5s') before it gives up and tries again.
SELECT set_config('lock_timeout', $1, true)
