-- Up Migration

CREATE TABLE clusters (
  id uuid PRIMARY KEY,
  name text NOT NULL UNIQUE,
  description text NOT NULL DEFAULT '',
  status text NOT NULL CHECK (status IN ('CREATING', 'ACTIVE', 'FAILED', 'REMOVING')),
  created_by_operation uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE operations (
  id uuid PRIMARY KEY,
  type text NOT NULL,
  status text NOT NULL CHECK (status IN ('PENDING', 'RUNNING', 'HOLDING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'ROLLED_BACK')),
  cluster_id uuid REFERENCES clusters (id) ON DELETE SET NULL,
  cluster_name text,
  service text,
  workflow_id text NOT NULL UNIQUE,
  workflow_type text NOT NULL,
  run_id text,
  requested_by text NOT NULL,
  -- The workflow's argument, so an operation whose start was interrupted can be started
  -- again. Never holds secrets: workflows carry credential ids.
  input jsonb NOT NULL DEFAULT '{}',
  result jsonb,
  error jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz
);
CREATE INDEX operations_cluster_idx ON operations (cluster_name, service, created_at DESC);
CREATE INDEX operations_status_idx ON operations (status, created_at DESC);

CREATE TABLE operation_steps (
  id bigserial PRIMARY KEY,
  operation_id uuid NOT NULL REFERENCES operations (id) ON DELETE CASCADE,
  host text NOT NULL DEFAULT '',
  step text NOT NULL,
  status text NOT NULL CHECK (status IN ('PENDING', 'RUNNING', 'HOLDING', 'SUCCEEDED', 'FAILED', 'SKIPPED', 'CANCELLED')),
  attempt integer NOT NULL DEFAULT 0,
  exit_code integer,
  duration_ms integer,
  stdout_tail text,
  stderr_tail text,
  message text,
  started_at timestamptz,
  finished_at timestamptz,
  UNIQUE (operation_id, host, step)
);

CREATE TABLE api_tokens (
  id uuid PRIMARY KEY,
  name text NOT NULL,
  role text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
  -- sha256 of the token; the token itself is shown once, at creation.
  token_hash text NOT NULL UNIQUE,
  prefix text NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);

CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  actor text NOT NULL,
  action text NOT NULL,
  target text NOT NULL DEFAULT '',
  operation_id uuid,
  request_id text,
  details jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);
-- An operation's side effect is audited once, however often its activity is retried.
CREATE UNIQUE INDEX audit_log_operation_action_uq ON audit_log (operation_id, action, target)
  WHERE operation_id IS NOT NULL;

-- Down Migration

DROP TABLE audit_log;
DROP TABLE api_tokens;
DROP TABLE operation_steps;
DROP TABLE operations;
DROP TABLE clusters;
