-- Telemetry: positions, device status, and the raw message log (Safemate's
-- "transactions"). Hypertables on TimescaleDB, daily partitions elsewhere.
-- organisation_id and recipient_id are copied onto each row at ingest, so a
-- scoped history query needs no join through devices.

SELECT vakt_create_timeseries('positions', $ddl$
  time timestamptz NOT NULL,
  device_id uuid NOT NULL,
  organisation_id uuid NOT NULL,
  recipient_id uuid,
  message_id text NOT NULL,
  lat double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
  lon double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
  accuracy_m real CHECK (accuracy_m >= 0),
  speed_mps real CHECK (speed_mps >= 0),
  heading_deg real CHECK (heading_deg >= 0 AND heading_deg < 360),
  altitude_m real,
  source text NOT NULL DEFAULT 'gps' CHECK (source IN ('gps', 'wifi', 'cell', 'other')),
  battery_percent smallint CHECK (battery_percent BETWEEN 0 AND 100),
  received_at timestamptz NOT NULL DEFAULT now(),
  -- A device cannot be in two places at the same millisecond: this key makes
  -- redelivered messages (same fixes) idempotent.
  PRIMARY KEY (device_id, time)
$ddl$, 'time', interval '1 day', interval '400 days', interval '7 days', 'device_id', 'time DESC');
CREATE INDEX positions_recipient_time_idx ON positions (recipient_id, time DESC);
CREATE INDEX positions_org_time_idx ON positions (organisation_id, time DESC);

SELECT vakt_create_timeseries('device_status', $ddl$
  time timestamptz NOT NULL,
  device_id uuid NOT NULL,
  organisation_id uuid NOT NULL,
  message_id text NOT NULL,
  battery_percent smallint CHECK (battery_percent BETWEEN 0 AND 100),
  charging boolean,
  signal_dbm smallint,
  firmware text,
  reported_config jsonb,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (device_id, time)
$ddl$, 'time', interval '1 day', interval '90 days', interval '7 days', 'device_id', 'time DESC');

SELECT vakt_create_timeseries('device_messages', $ddl$
  time timestamptz NOT NULL,
  device_id uuid NOT NULL,
  organisation_id uuid NOT NULL,
  direction text NOT NULL CHECK (direction IN ('uplink', 'downlink')),
  topic text NOT NULL,
  message_id text,
  kind text NOT NULL,
  payload jsonb NOT NULL
$ddl$, 'time', interval '1 day', interval '90 days', interval '3 days', 'device_id', 'time DESC');
CREATE INDEX device_messages_device_time_idx ON device_messages (device_id, time DESC);
