-- Retention (docs/retention.md): each account's retention period, how much
-- of each log has been pruned, and the lease that lets one process prune
-- at a time.

-- retention_days: NULL follows the operator's default (RETENTION_DAYS);
-- 0 keeps events forever; N removes events older than N days.
ALTER TABLE accounts ADD COLUMN retention_days INTEGER;

-- pruned_size: the events with seq <= pruned_size have been removed (their
-- leaf hashes stay in log_tiles); pruned_at: when the last of them went;
-- prune_recorded: how far a retention.pruned event has recorded the prune.
ALTER TABLE log_heads
    ADD COLUMN pruned_size BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN pruned_at TIMESTAMPTZ(6),
    ADD COLUMN prune_recorded BIGINT NOT NULL DEFAULT 0;

-- job_leases: service-wide jobs that one process runs at a time. The
-- holder renews its lease as it works; another process takes it over once
-- expires_at has passed.
CREATE TABLE job_leases (
    name       VARCHAR(64)    NOT NULL PRIMARY KEY,
    holder     VARCHAR(64)    NOT NULL,
    expires_at TIMESTAMPTZ(6) NOT NULL
);
INSERT INTO job_leases (name, holder, expires_at) VALUES ('retention', '', '1970-01-01 00:00:00+00');
