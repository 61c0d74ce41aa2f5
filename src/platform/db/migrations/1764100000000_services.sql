-- Up Migration

-- A service deployed in a cluster. `version` is what is installed everywhere (null until the
-- first deploy completes); `target_version` is what the running operation installs.
CREATE TABLE services (
  id uuid PRIMARY KEY,
  cluster_id uuid NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
  name text NOT NULL,
  version text,
  target_version text NOT NULL,
  status text NOT NULL CHECK (status IN ('DEPLOYING', 'ACTIVE', 'FAILED', 'REMOVING')),
  config_version integer NOT NULL DEFAULT 1,
  created_by_operation uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (cluster_id, name)
);

-- Immutable: every change of a service's parameters is a new version.
CREATE TABLE config_versions (
  service_id uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
  version integer NOT NULL,
  "values" jsonb NOT NULL,
  author text NOT NULL,
  note text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (service_id, version)
);

ALTER TABLE role_instances
  ADD COLUMN service_id uuid REFERENCES services (id) ON DELETE CASCADE,
  -- Position in the role's placement: gives ids such as ZooKeeper's myid.
  ADD COLUMN idx integer NOT NULL DEFAULT 0,
  ADD COLUMN version text,
  ADD COLUMN config_version integer,
  ADD COLUMN ports jsonb NOT NULL DEFAULT '{}',
  ADD COLUMN status_reason text,
  ADD COLUMN observed_at timestamptz,
  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
  ADD CONSTRAINT role_instances_desired_check CHECK (desired_state IN ('RUNNING', 'STOPPED')),
  ADD CONSTRAINT role_instances_observed_check CHECK (observed_state IN ('UNKNOWN', 'RUNNING', 'STOPPED', 'FAILED'));
CREATE INDEX role_instances_service_idx ON role_instances (service_id, role, idx);

-- One mutating operation per (cluster, service) at a time; service '' stands for the whole
-- cluster. Taken in the transaction that records the operation, dropped when it finishes.
CREATE TABLE operation_locks (
  cluster_id uuid NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
  service text NOT NULL,
  operation_id uuid NOT NULL REFERENCES operations (id) ON DELETE CASCADE,
  acquired_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (cluster_id, service)
);
CREATE INDEX operation_locks_operation_idx ON operation_locks (operation_id);

-- HOLDING: which steps wait for an operator decision, and whether the operation can roll back.
ALTER TABLE operations
  ADD COLUMN holding jsonb,
  ADD COLUMN can_rollback boolean NOT NULL DEFAULT false,
  ADD COLUMN phase text,
  ADD COLUMN progress jsonb,
  -- Bumped by each state report of the workflow; an older report never overwrites a newer one.
  ADD COLUMN state_seq integer NOT NULL DEFAULT 0;

-- Steps keep every attempt, keyed by instance (role and host), phase and step.
ALTER TABLE operation_steps
  DROP CONSTRAINT operation_steps_operation_id_host_step_key,
  ADD COLUMN role text NOT NULL DEFAULT '',
  ADD COLUMN phase text NOT NULL DEFAULT '';
CREATE UNIQUE INDEX operation_steps_attempt_uq ON operation_steps (operation_id, host, role, phase, step, attempt);

-- Down Migration

DROP INDEX operation_steps_attempt_uq;
ALTER TABLE operation_steps DROP COLUMN phase, DROP COLUMN role,
  ADD CONSTRAINT operation_steps_operation_id_host_step_key UNIQUE (operation_id, host, step);
ALTER TABLE operations DROP COLUMN state_seq, DROP COLUMN progress, DROP COLUMN phase, DROP COLUMN can_rollback, DROP COLUMN holding;
DROP TABLE operation_locks;
DROP INDEX role_instances_service_idx;
ALTER TABLE role_instances DROP CONSTRAINT role_instances_observed_check, DROP CONSTRAINT role_instances_desired_check,
  DROP COLUMN updated_at, DROP COLUMN observed_at, DROP COLUMN status_reason, DROP COLUMN ports,
  DROP COLUMN config_version, DROP COLUMN version, DROP COLUMN idx, DROP COLUMN service_id;
DROP TABLE config_versions;
DROP TABLE services;
