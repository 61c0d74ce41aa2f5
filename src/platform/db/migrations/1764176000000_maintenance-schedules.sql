-- Up Migration

-- Maintenance schedules: the definitions live here (so the API can list them while Temporal
-- is down); each has a Temporal Schedule that fires its runs.
CREATE TABLE maintenance_schedules (
  id uuid PRIMARY KEY,
  name text NOT NULL UNIQUE,
  cluster_id uuid NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
  service text NOT NULL,
  spec jsonb NOT NULL,
  action jsonb NOT NULL,
  paused boolean NOT NULL DEFAULT false,
  -- Maintenance window: the service (and hosts of a task limited to hosts) stay in
  -- maintenance while a run lasts and this many seconds after it.
  window_seconds integer,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per firing: the operation it started, or why it started none (SKIPPED: the service
-- was busy with `operation_id`; FAILED: the action could not start).
CREATE TABLE maintenance_runs (
  id uuid PRIMARY KEY,
  schedule_id uuid NOT NULL REFERENCES maintenance_schedules (id) ON DELETE CASCADE,
  -- The run's workflow: a retried activity finds its row again.
  workflow_id text NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  operation_id uuid REFERENCES operations (id) ON DELETE SET NULL,
  status text NOT NULL CHECK (status IN ('STARTED', 'SKIPPED', 'FAILED')),
  reason text,
  UNIQUE (schedule_id, workflow_id)
);
CREATE INDEX maintenance_runs_recent_idx ON maintenance_runs (schedule_id, at DESC);

-- Down Migration
DROP TABLE maintenance_runs;
DROP TABLE maintenance_schedules;
