-- The raw device-message log keeps each message as the text that arrived (payload_text), no longer
-- as jsonb (payload, which keeps the rows written before). jsonb parsed every message once more on
-- its way into the log, a third of the log's cost per message (bench:statement-cost: COPY of the
-- log 11.0-11.8 -> 6.8-7.7 µs of PostgreSQL's CPU per position, issue #20 item 2), and it rewrote
-- what it kept (keys reordered, a repeated key dropped, numbers respelled), where a log of what
-- passed between device and platform holds what was sent. Every row holds exactly one of the two.
-- Added as columns, not a changed type: TimescaleDB cannot change a column's type once chunks are
-- compressed, and a rewrite of the whole log is no migration to run under ingest.
ALTER TABLE device_messages ADD COLUMN payload_text text;
ALTER TABLE device_messages ALTER COLUMN payload DROP NOT NULL;
ALTER TABLE device_messages ADD CONSTRAINT device_messages_payload_kept
  CHECK (num_nonnulls(payload, payload_text) = 1) NOT VALID;
