-- Up Migration

-- What each config version changed from the one before (param → {from, to}), and the
-- operation that applies it (null for the version written at deploy).
ALTER TABLE config_versions
  ADD COLUMN changes jsonb NOT NULL DEFAULT '{}',
  ADD COLUMN operation_id uuid REFERENCES operations (id) ON DELETE SET NULL;

-- Down Migration

ALTER TABLE config_versions DROP COLUMN operation_id, DROP COLUMN changes;
