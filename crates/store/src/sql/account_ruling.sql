-- One account ruling by its intent id, within tenant $2.
SELECT tenant_id, intent_id, account_key, lead_id, log_partition, log_offset, mode, rep_id,
       team, requested_by, requested_at, tier, rule, allowed, holder_rep_id, holder_team,
       holder_since, holder_by, reason
FROM account_rulings WHERE intent_id = $1 AND tenant_id = $2
