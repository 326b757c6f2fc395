-- A dead letter committed by an ingest process that died before acknowledging
-- it comes back from the broker marked as a redelivery (MQTT DUP). Ingest then
-- looks for the same topic and payload hash before storing it again.
ALTER TABLE dead_letters ADD COLUMN payload_sha256 text;
CREATE INDEX dead_letters_redelivery_idx ON dead_letters (topic, payload_sha256, received_at);
