-- Up Migration

CREATE TABLE credentials (
  id uuid PRIMARY KEY,
  name text NOT NULL UNIQUE,
  username text NOT NULL,
  -- AES-256-GCM sealed with the master key; never returned by the API.
  sealed_private_key text NOT NULL,
  sealed_passphrase text,
  public_key_fingerprint text NOT NULL,
  key_type text NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE hosts (
  id uuid PRIMARY KEY,
  cluster_id uuid NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
  hostname text NOT NULL,
  address text NOT NULL,
  port integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
  credential_id uuid NOT NULL REFERENCES credentials (id),
  install_root text NOT NULL,
  labels jsonb NOT NULL DEFAULT '{}',
  host_key_fingerprint text,
  facts jsonb,
  status text NOT NULL CHECK (status IN ('PENDING', 'BOOTSTRAPPING', 'READY', 'FAILED', 'UNREACHABLE')),
  status_reason text,
  maintenance boolean NOT NULL DEFAULT false,
  last_seen_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (cluster_id, hostname)
);
CREATE INDEX hosts_status_idx ON hosts (status);

-- Role instances placed on hosts; later migrations add what deployments need.
CREATE TABLE role_instances (
  id uuid PRIMARY KEY,
  cluster_id uuid NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
  service text NOT NULL,
  role text NOT NULL,
  host_id uuid NOT NULL REFERENCES hosts (id),
  desired_state text NOT NULL DEFAULT 'RUNNING',
  observed_state text NOT NULL DEFAULT 'UNKNOWN',
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (cluster_id, service, role, host_id)
);

-- Down Migration

DROP TABLE role_instances;
DROP TABLE hosts;
DROP TABLE credentials;
