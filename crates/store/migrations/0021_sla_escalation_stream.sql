-- no-transaction
-- WatchSla with `include_escalations` also reads a tenant's `sla_escalated` rows in log order
-- per partition (beside `lead_events_sla_alerts`, migration 0005). Built CONCURRENTLY, so a
-- large `lead_events` keeps taking writes while it builds (hence no transaction).
CREATE INDEX CONCURRENTLY IF NOT EXISTS lead_events_sla_escalations
    ON lead_events (tenant_id, log_partition, log_offset)
    WHERE event_type = 'sla_escalated';
