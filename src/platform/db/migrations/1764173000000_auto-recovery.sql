-- Up Migration

-- Auto-recovery per service: an instance that should run but is seen down is restarted, at
-- most `auto_recovery_max_per_hour` times per instance in any hour (counted from its
-- `service.recover` operations, so nothing can drift), then it is left down and alerted.
ALTER TABLE services
  ADD COLUMN auto_recovery_enabled boolean NOT NULL DEFAULT true,
  ADD COLUMN auto_recovery_max_per_hour integer NOT NULL DEFAULT 6 CHECK (auto_recovery_max_per_hour BETWEEN 1 AND 1000);

-- The budget count: recover operations of one instance in the last hour.
CREATE INDEX operations_recover_idx ON operations ((input ->> 'instanceId'), created_at) WHERE type = 'service.recover';

-- The last poll of each cluster, for Sophon's own metrics (duration, targets) and for what
-- auto-recovery did or skipped in it (and why).
CREATE TABLE cluster_polls (
  cluster_id uuid PRIMARY KEY REFERENCES clusters (id) ON DELETE CASCADE,
  started_at timestamptz NOT NULL,
  -- Of the last poll that finished (a running poll has started_at > finished_at).
  finished_at timestamptz,
  duration_ms integer,
  counts jsonb,
  recovery jsonb
);

-- Down Migration

DROP TABLE cluster_polls;
DROP INDEX operations_recover_idx;
ALTER TABLE services DROP COLUMN auto_recovery_max_per_hour, DROP COLUMN auto_recovery_enabled;
