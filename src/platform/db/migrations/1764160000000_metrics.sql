-- Up Migration

-- The latest sample of each series a poll scraped (plus the synthetic `up` per instance).
-- A series is (cluster, host, service, role, metric, labels); jsonb compares labels whatever
-- their order. Rows of a target that a scrape no longer returns are dropped (stale).
CREATE TABLE metric_latest (
  cluster_id uuid NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
  host text NOT NULL,
  service text NOT NULL,
  role text NOT NULL,
  metric text NOT NULL,
  labels jsonb NOT NULL,
  value double precision NOT NULL,
  at timestamptz NOT NULL,
  PRIMARY KEY (cluster_id, metric, host, service, role, labels)
);
CREATE INDEX metric_latest_target_idx ON metric_latest (cluster_id, host, service, role);

-- Recent history for rule windows (rate, avg_over_time); each poll prunes what is older than
-- SOPHON_METRICS_RETENTION_MINUTES.
CREATE TABLE metric_samples (
  cluster_id uuid NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
  host text NOT NULL,
  service text NOT NULL,
  role text NOT NULL,
  metric text NOT NULL,
  labels jsonb NOT NULL,
  value double precision NOT NULL,
  at timestamptz NOT NULL
);
CREATE INDEX metric_samples_series_idx ON metric_samples (cluster_id, metric, at);
CREATE INDEX metric_samples_at_idx ON metric_samples (cluster_id, at);

-- Down Migration

DROP TABLE metric_samples;
DROP TABLE metric_latest;
