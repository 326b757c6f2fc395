-- A cancel window per alert rule: routing starts only after it, so a wearer
-- who fell and got up (or a device's false fall) can cancel before anyone is
-- woken. NULL: the default, 30 s for fall alarms and none for other types
-- (an SOS press is deliberate; a fall detector is not). Per rule, because a
-- rule already names the alarm types and departments it is for.
ALTER TABLE alert_rules ADD COLUMN cancel_window_s integer CHECK (cancel_window_s BETWEEN 0 AND 600);

-- When the claimed alarm's window ends (NULL: routed at once). The first step
-- is a graphile-worker job with run_at = cancel_until, so it survives restarts.
ALTER TABLE alarm_routing ADD COLUMN cancel_until timestamptz;

-- Ingest recorded a wearer's cancel with an outcome outside the API's list
-- ('cancelled on the device'), so the console dropped the alarm's change and
-- it stayed in the queue. A cancel is a false alarm (the transition says it
-- came from the device).
UPDATE alarms SET outcome = 'false_alarm' WHERE outcome = 'cancelled on the device';
