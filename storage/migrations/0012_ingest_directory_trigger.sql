-- The device-directory trigger (0010) need not run for the frequent updates
-- ingest makes (last seen, battery, online): fire it only when a column the
-- directory caches, or the credentials, can have changed.
DROP TRIGGER devices_directory_notify ON devices;
CREATE TRIGGER devices_directory_notify_change
  AFTER UPDATE OF serial, organisation_id, department_id, recipient_id, retired_at, mqtt_secret_sha256, desired_config
  ON devices
  FOR EACH ROW EXECUTE FUNCTION vakt_notify_device_directory();
CREATE TRIGGER devices_directory_notify_insert_delete
  AFTER INSERT OR DELETE ON devices
  FOR EACH ROW EXECUTE FUNCTION vakt_notify_device_directory();
