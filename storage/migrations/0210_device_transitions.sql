-- Geofence transitions (OwnTracks `transition`: the app entered or left a
-- region defined in it), shown on the recipient's timeline. Rare (a few a day
-- per device), so a plain table on both engines; the positions retention and
-- erasure delete from it like from positions. organisation_id, department_id
-- and recipient_id are copied at ingest so a scoped query needs no join.
CREATE TABLE device_transitions (
  device_id uuid NOT NULL,
  organisation_id uuid NOT NULL,
  recipient_id uuid,
  department_id uuid,
  -- The raw device message id (ot-transition-<tst>): the same transition
  -- delivered twice is stored once.
  message_id text NOT NULL,
  event text NOT NULL CHECK (event IN ('enter', 'leave')),
  region_desc text,
  region_id text,
  -- The app's timestamp of the region (`wtst`), when sent.
  region_time timestamptz,
  -- How the app noticed: c circular region, b beacon, l location, and others
  -- the apps may add; kept as sent.
  trigger text,
  time timestamptz NOT NULL,
  lat double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
  lon double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
  accuracy_m real CHECK (accuracy_m >= 0),
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (device_id, message_id)
);
CREATE INDEX device_transitions_recipient_time_idx ON device_transitions (organisation_id, recipient_id, time DESC);
CREATE INDEX device_transitions_org_time_idx ON device_transitions (organisation_id, time);
