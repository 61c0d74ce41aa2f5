-- Up Migration

-- An instance a scale-in is removing: its peers' configurations no longer list it, while it
-- still runs until its decommission steps and stop.
ALTER TABLE role_instances ADD COLUMN leaving boolean NOT NULL DEFAULT false;

-- Down Migration

ALTER TABLE role_instances DROP COLUMN leaving;
