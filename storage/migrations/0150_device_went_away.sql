-- When a device went away: set when `online` turns false (an OwnTracks last
-- will, a broker-reported disconnect, or the supervisor's no contact), cleared
-- when it turns true again. The supervisor raises no_contact a short grace
-- after it (INGEST_LAST_WILL_GRACE_S) instead of waiting for the heartbeat
-- timeout. A trigger, so every writer of `online` keeps it true.
ALTER TABLE devices ADD COLUMN offline_since timestamptz;

CREATE FUNCTION vakt_device_offline_since() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.online THEN
    NEW.offline_since := NULL;
  ELSIF OLD.online THEN
    NEW.offline_since := now();
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER devices_offline_since
  BEFORE UPDATE OF online ON devices
  FOR EACH ROW WHEN (OLD.online IS DISTINCT FROM NEW.online)
  EXECUTE FUNCTION vakt_device_offline_since();
