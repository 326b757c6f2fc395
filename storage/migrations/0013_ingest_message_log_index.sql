-- device_messages_uplink_once_idx (device_id, time, message_id), added in
-- 0010, answers everything device_messages_device_time_idx (device_id,
-- time DESC) did (a B-tree scans both ways), so ingest need not maintain
-- both for every uplink.
DROP INDEX IF EXISTS device_messages_device_time_idx;
