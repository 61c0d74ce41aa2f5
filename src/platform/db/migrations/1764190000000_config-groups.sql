-- Up Migration

-- Role groups of a config version: name → {role, hosts: [{hostname, instanceId}], values},
-- the parameters some instances of a role get instead of the version's values.
ALTER TABLE config_versions ADD COLUMN groups jsonb NOT NULL DEFAULT '{}';

-- Down Migration

ALTER TABLE config_versions DROP COLUMN groups;
