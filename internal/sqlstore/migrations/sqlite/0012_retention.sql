-- Retention (docs/retention.md): each account's retention period, how much
-- of each log has been pruned, and the lease that lets one process prune
-- at a time. The same columns and table as the postgres and mysql files.

-- retention_days: NULL follows the operator's default (RETENTION_DAYS);
-- 0 keeps events forever; N removes events older than N days.
ALTER TABLE accounts ADD COLUMN retention_days INTEGER;

-- pruned_size: the events with seq <= pruned_size have been removed (their
-- leaf hashes stay in log_tiles); pruned_at: when the last of them went;
-- prune_recorded: how far a retention.pruned event has recorded the prune.
ALTER TABLE log_heads ADD COLUMN pruned_size INTEGER NOT NULL DEFAULT 0;
ALTER TABLE log_heads ADD COLUMN pruned_at TEXT;
ALTER TABLE log_heads ADD COLUMN prune_recorded INTEGER NOT NULL DEFAULT 0;

-- job_leases: service-wide jobs that one process runs at a time. The
-- holder renews its lease as it works; another process takes it over once
-- expires_at has passed.
CREATE TABLE job_leases (
    name       TEXT NOT NULL PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
INSERT INTO job_leases (name, holder, expires_at) VALUES ('retention', '', '1970-01-01T00:00:00.000000Z');
