-- One merged group's lock ($1: the hash of its tenant and survivor), so two projector
-- transactions on different partitions (a survivor's and a merged lead's) fold the group one
-- after the other, each from what the other committed. Taken in hash order.
SELECT pg_advisory_xact_lock(7812317, $1::int4)
