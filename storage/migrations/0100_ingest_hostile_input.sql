-- Ingest under hostile input (issue 13).
--
-- A dead letter keeps what arrived as bytes: PostgreSQL text cannot hold a NUL
-- or invalid UTF-8, and a dead letter that cannot be stored stalls the lane it
-- is in. payload_excerpt stays as a readable preview (NUL and broken
-- characters replaced).
ALTER TABLE dead_letters ADD COLUMN payload bytea;

-- The message ids a device used recently, with a hash of what each said: a
-- native message is idempotent on (device, message id), so a redelivery is
-- recognised and an id reused with other content becomes a dead letter
-- (conflicting_message_id) instead of a second position. Trimmed by age by
-- ingest's supervisor (INGEST_MESSAGE_ID_DAYS).
CREATE TABLE uplink_ids (
  device_id uuid NOT NULL,
  message_id text NOT NULL,
  payload_sha256 bytea NOT NULL,
  seen_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (device_id, message_id)
);
CREATE INDEX uplink_ids_seen_idx ON uplink_ids (seen_at);

-- A message the broker keeps redelivering (ingest died handling it): counted
-- per topic and payload hash, so after INGEST_MAX_REDELIVERIES it is kept as
-- a dead letter instead of coming back forever.
CREATE TABLE ingest_redeliveries (
  topic text NOT NULL,
  payload_sha256 text NOT NULL,
  deliveries integer NOT NULL,
  last_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (topic, payload_sha256)
);
CREATE INDEX ingest_redeliveries_last_idx ON ingest_redeliveries (last_at);
