-- The ownership requests of tenant $1 the projector granted (in log order, once).
SELECT intent_id FROM ownership_decisions WHERE tenant_id = $1 AND granted
