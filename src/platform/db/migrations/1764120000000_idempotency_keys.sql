-- Up Migration

-- Idempotency-Key of a request that started an operation. A key belongs to the token that
-- sent it; it is written in the transaction that records the operation, so a key always
-- names a recorded operation, and concurrent requests with one key make one operation.
CREATE TABLE idempotency_keys (
  actor text NOT NULL,
  key text NOT NULL,
  method text NOT NULL,
  path text NOT NULL,
  -- sha256 of the canonical JSON body, and of each top-level field (to say what differs).
  request_hash text NOT NULL,
  field_hashes jsonb NOT NULL DEFAULT '{}',
  -- The rest of the first 202 answer (besides the operation), returned again on a replay.
  answer jsonb NOT NULL DEFAULT '{}',
  -- Deferred: the key is claimed first in the transaction, before the operation row exists.
  operation_id uuid NOT NULL REFERENCES operations (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (actor, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- Down Migration

DROP TABLE idempotency_keys;
