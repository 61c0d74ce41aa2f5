-- Up Migration

-- The latest scrape of each target, whole, as the exposition text it answered: the API parses
-- it when asked, so a poll writes one row per target instead of one per series. Unlogged: a
-- Postgres crash empties it, and the next poll fills it again.
CREATE UNLOGGED TABLE metric_scrapes (
  cluster_id uuid NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
  host text NOT NULL,
  service text NOT NULL,
  role text NOT NULL,
  body text NOT NULL,
  at timestamptz NOT NULL,
  PRIMARY KEY (cluster_id, host, service, role)
);
-- Not compressed: in bench/poll.ts compressing every scrape cost Postgres about a third more
-- CPU per poll (and compressing them in the worker cost the worker more than it saved).
ALTER TABLE metric_scrapes ALTER COLUMN body SET STORAGE EXTERNAL;

-- metric_latest and metric_samples now hold only the series alert rules read (and Sophon's own
-- `up` and recovery budget); the rows of other series go with the next poll of their target
-- (latest) or with the retention (history).

-- Down Migration

DROP TABLE metric_scrapes;
