-- Up Migration

-- The hosts an operation works on. Workflow inputs carry the operation id only, so their size
-- does not grow with the number of hosts; the workflow reads this list in an activity.
CREATE TABLE operation_hosts (
  operation_id uuid NOT NULL REFERENCES operations (id) ON DELETE CASCADE,
  host_id uuid NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
  PRIMARY KEY (operation_id, host_id)
);
CREATE INDEX operation_hosts_host_idx ON operation_hosts (host_id);

-- Keyset paging of GET /api/v1/operations (newest first).
CREATE INDEX operations_created_idx ON operations (created_at DESC, id DESC);

-- Down Migration

DROP INDEX operations_created_idx;
DROP TABLE operation_hosts;
