-- WatchSla reads a tenant's SLA alerts in log order per partition, after a resume position.
-- (Numbered 0005 so the SLA worker's own migration can take 0004 without a clash; sqlx
-- applies any version not yet applied.)
CREATE INDEX lead_events_sla_alerts ON lead_events (tenant_id, log_partition, log_offset)
    WHERE event_type IN ('sla_at_risk', 'sla_breached');
