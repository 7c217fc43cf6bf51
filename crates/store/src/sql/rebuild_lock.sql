-- The statement that locks every table of schema $1 against readers and writers for the
-- swap. `lead_events` first: a projection transaction writes it first, so one that already
-- started is waited for before any other lock is taken (no lock-order deadlock with it).
SELECT format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE',
              string_agg(format('%I.%I', n.nspname, c.relname),
                         ', ' ORDER BY c.relname <> 'lead_events', c.relname))
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
