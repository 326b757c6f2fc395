-- Ingest: what makes redelivery idempotent and device look-ups cheap to keep fresh.

-- A device's uplink is logged once however often the broker redelivers it:
-- the key holds the partitioning column (time) as hypertables and native
-- partitions both require. `time` is the device's own message time.
CREATE UNIQUE INDEX device_messages_uplink_once_idx ON device_messages (device_id, time, message_id);

-- Ingest caches serial -> (device, organisation, department, recipient). A
-- change to any of those, or retirement, or new credentials, tells every
-- ingest process to forget that serial (payload: the serial, old and new).
CREATE FUNCTION vakt_notify_device_directory() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('vakt_device_directory', OLD.serial);
    RETURN OLD;
  END IF;
  IF TG_OP = 'UPDATE' THEN
    IF (OLD.serial, OLD.organisation_id, OLD.department_id, OLD.recipient_id, OLD.retired_at,
        OLD.mqtt_secret_sha256, OLD.desired_config)
       IS NOT DISTINCT FROM
       (NEW.serial, NEW.organisation_id, NEW.department_id, NEW.recipient_id, NEW.retired_at,
        NEW.mqtt_secret_sha256, NEW.desired_config) THEN
      RETURN NEW;
    END IF;
    IF OLD.serial <> NEW.serial THEN
      PERFORM pg_notify('vakt_device_directory', OLD.serial);
    END IF;
  END IF;
  PERFORM pg_notify('vakt_device_directory', NEW.serial);
  RETURN NEW;
END
$$;

CREATE TRIGGER devices_directory_notify
  AFTER INSERT OR UPDATE OR DELETE ON devices
  FOR EACH ROW EXECUTE FUNCTION vakt_notify_device_directory();
