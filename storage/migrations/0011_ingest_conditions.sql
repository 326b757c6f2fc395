-- Platform-derived alarms (no contact, low battery, geofence, outdated
-- position): the last known state of each condition per device, so an alarm
-- is raised on the transition into the condition, once, even if staff close
-- it while the condition lasts, and cleared when the condition ends.

CREATE TABLE device_conditions (
  device_id uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
  type text NOT NULL CHECK (type IN ('no_contact', 'low_battery', 'geofence_exit', 'geofence_enter',
    'outdated_position')),
  -- Which instance of the condition: the geofence id; '' for per-device conditions.
  condition_key text NOT NULL DEFAULT '',
  active boolean NOT NULL,
  changed_at timestamptz NOT NULL DEFAULT now(),
  alarm_id uuid REFERENCES alarms (id) ON DELETE SET NULL,
  PRIMARY KEY (device_id, type, condition_key)
);

-- Which crossing of a geofence raises an alarm: leaving a safe zone (exit),
-- entering a zone to keep away from (enter), or both.
ALTER TABLE geofences ADD COLUMN alarm_on text NOT NULL DEFAULT 'exit'
  CHECK (alarm_on IN ('exit', 'enter', 'both'));
