-- Leads whose attribution credits wait to be recomputed (the credits worker's queue).
SELECT count(*)::int8 FROM attribution_dirty
