-- Up Migration

-- Maintenance with an end: a host is in maintenance while `maintenance` is set or
-- `maintenance_until` is in the future; a service while its `maintenance_until` is.
ALTER TABLE hosts ADD COLUMN maintenance_until timestamptz;
ALTER TABLE services ADD COLUMN maintenance_until timestamptz;

-- Where notifications go. Non-secret settings in `config`; passwords and URLs carrying tokens
-- are sealed with the master key in `sealed_secrets` (a JSON object, sealed as one) and never
-- returned by the API.
CREATE TABLE notification_channels (
  id uuid PRIMARY KEY,
  name text NOT NULL UNIQUE,
  type text NOT NULL CHECK (type IN ('webhook', 'slack', 'dingtalk', 'wecom', 'email')),
  config jsonb NOT NULL DEFAULT '{}',
  sealed_secrets text,
  last_success_at timestamptz,
  last_failure_at timestamptz,
  last_error text,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Ordered steps: [{channels: [<channel name>], waitSeconds}], run `repeat` times.
CREATE TABLE escalation_policies (
  id uuid PRIMARY KEY,
  name text NOT NULL UNIQUE,
  steps jsonb NOT NULL,
  repeat integer NOT NULL DEFAULT 1 CHECK (repeat >= 1),
  unack_timeout_seconds integer CHECK (unack_timeout_seconds > 0),
  is_default boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX escalation_policies_one_default ON escalation_policies (is_default) WHERE is_default;

-- `source`: 'user' (API), 'definition' (a service definition's default rules, created at
-- deploy for that cluster and service) or 'builtin' (Sophon's own, e.g. instance down).
CREATE TABLE alert_rules (
  id uuid PRIMARY KEY,
  name text NOT NULL,
  expr text NOT NULL,
  op text NOT NULL CHECK (op IN ('>', '>=', '<', '<=', '==', '!=')),
  threshold double precision NOT NULL,
  for_seconds integer NOT NULL DEFAULT 0 CHECK (for_seconds >= 0),
  severity text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
  cluster_id uuid REFERENCES clusters (id) ON DELETE CASCADE,
  service text,
  role text,
  labels jsonb NOT NULL DEFAULT '{}',
  summary text NOT NULL DEFAULT '',
  policy_id uuid REFERENCES escalation_policies (id) ON DELETE SET NULL,
  source text NOT NULL DEFAULT 'user' CHECK (source IN ('user', 'definition', 'builtin')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX alert_rules_name_scope ON alert_rules (name, cluster_id, service) NULLS NOT DISTINCT;

-- One open alert per rule x target: `fingerprint` identifies the target (rule id + its
-- labels). `labels` holds alertname, cluster, host, service, role, severity and the series'
-- own labels. Resolved alerts stay as history.
CREATE TABLE alerts (
  id uuid PRIMARY KEY,
  rule_id uuid REFERENCES alert_rules (id) ON DELETE SET NULL,
  rule_name text NOT NULL,
  fingerprint text NOT NULL,
  state text NOT NULL CHECK (state IN ('pending', 'firing', 'acknowledged', 'resolved')),
  severity text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
  cluster_id uuid REFERENCES clusters (id) ON DELETE CASCADE,
  host text,
  service text,
  role text,
  labels jsonb NOT NULL,
  value double precision,
  summary text NOT NULL DEFAULT '',
  silenced boolean NOT NULL DEFAULT false,
  starts_at timestamptz NOT NULL DEFAULT now(),
  fired_at timestamptz,
  acked_by text,
  acked_at timestamptz,
  ack_note text,
  resolved_at timestamptz,
  resolved_by text,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX alerts_one_open ON alerts (fingerprint) WHERE state <> 'resolved';
CREATE INDEX alerts_state_idx ON alerts (state, severity, cluster_id);

-- Every state change of an alert, with who made it.
CREATE TABLE alert_events (
  id bigserial PRIMARY KEY,
  alert_id uuid NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
  at timestamptz NOT NULL DEFAULT now(),
  from_state text,
  to_state text NOT NULL,
  actor text NOT NULL,
  note text
);
CREATE INDEX alert_events_alert_idx ON alert_events (alert_id, at);

-- One row per delivery attempt outcome of the escalation chain (and channel tests, alert_id null).
CREATE TABLE alert_notifications (
  id bigserial PRIMARY KEY,
  alert_id uuid REFERENCES alerts (id) ON DELETE CASCADE,
  channel_id uuid REFERENCES notification_channels (id) ON DELETE SET NULL,
  channel_name text NOT NULL,
  channel_type text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('firing', 'resolved', 'test')),
  round integer,
  step integer,
  status text NOT NULL CHECK (status IN ('sent', 'failed')),
  attempts integer NOT NULL DEFAULT 1,
  error text,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alert_notifications_alert_idx ON alert_notifications (alert_id, at);
CREATE INDEX alert_notifications_channel_idx ON alert_notifications (channel_id, at);

-- Label matchers (equality) on alert labels, active from starts_at to ends_at.
CREATE TABLE silences (
  id uuid PRIMARY KEY,
  matchers jsonb NOT NULL,
  starts_at timestamptz NOT NULL DEFAULT now(),
  ends_at timestamptz NOT NULL,
  comment text NOT NULL DEFAULT '',
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX silences_ends_idx ON silences (ends_at);

-- Down Migration

DROP TABLE silences;
DROP TABLE alert_notifications;
DROP TABLE alert_events;
DROP TABLE alerts;
DROP TABLE alert_rules;
DROP TABLE escalation_policies;
DROP TABLE notification_channels;
ALTER TABLE services DROP COLUMN maintenance_until;
ALTER TABLE hosts DROP COLUMN maintenance_until;
