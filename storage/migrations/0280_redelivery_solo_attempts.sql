-- A message redelivered INGEST_MAX_REDELIVERIES times is handled alone, its attempt recorded here
-- first: one that comes back with an unfinished attempt killed ingest while alone and is the only
-- one kept as a dead letter; the messages that were in flight beside it are stored.
ALTER TABLE ingest_redeliveries ADD COLUMN solo_attempts integer NOT NULL DEFAULT 0;
