-- The domain: organisations and everything they own.
--
-- Every owned table carries organisation_id, and references to other owned
-- rows are composite (organisation_id, id) foreign keys, so the database itself
-- refuses a row that points into another organisation.

CREATE TABLE organisations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  time_zone text NOT NULL DEFAULT 'Europe/Oslo',
  require_admin_second_factor boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Department tree of any depth. `ancestry` holds the ids from the root down to
-- and including this department, so "is X inside the subtree of G" is
-- `G = ANY(X.ancestry)`, answerable in one indexed predicate.
CREATE TABLE departments (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
  parent_id uuid,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  ancestry uuid[] NOT NULL,
  closed_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (organisation_id, id),
  FOREIGN KEY (organisation_id, parent_id) REFERENCES departments (organisation_id, id),
  CHECK (parent_id IS NULL OR parent_id <> id),
  CHECK (ancestry[array_length(ancestry, 1)] = id)
);
CREATE INDEX departments_ancestry_idx ON departments USING gin (ancestry);
CREATE INDEX departments_parent_idx ON departments (organisation_id, parent_id);

CREATE TABLE roles (
  key text PRIMARY KEY,
  label text NOT NULL,
  description text NOT NULL
);
INSERT INTO roles (key, label, description) VALUES
  ('org_admin', 'Organisation administrator', 'Everything in the organisation: departments, users, devices, routing, retention, logs.'),
  ('dept_admin', 'Department administrator', 'Users, recipients and devices within the granted departments and their sub-departments.'),
  ('operator', 'Operator', 'Sees and handles alarms and positions within the granted departments; edits call lists and device settings there.'),
  ('locator', 'Locator', 'May look up a recipient''s position within the granted departments, giving a reason each time.'),
  ('auditor', 'Auditor', 'Reads the activity log of the granted departments; sees no positions.');

CREATE TABLE staff_users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
  email text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 320),
  first_name text NOT NULL,
  last_name text NOT NULL,
  phone text,
  password_hash text,
  totp_secret text,
  totp_enabled_at timestamptz,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  last_login_at timestamptz,
  access_ended_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (organisation_id, id)
);
-- E-mail is the login name, so it is unique across organisations.
CREATE UNIQUE INDEX staff_users_email_idx ON staff_users (email);

-- A role held by a user, over one department subtree or (department_id NULL)
-- over the whole organisation.
CREATE TABLE role_grants (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organisation_id uuid NOT NULL,
  user_id uuid NOT NULL,
  role text NOT NULL REFERENCES roles (key),
  department_id uuid,
  granted_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (organisation_id, user_id) REFERENCES staff_users (organisation_id, id) ON DELETE CASCADE,
  FOREIGN KEY (organisation_id, department_id) REFERENCES departments (organisation_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX role_grants_unique_idx
  ON role_grants (user_id, role, coalesce(department_id, '00000000-0000-0000-0000-000000000000'::uuid));

-- Tjenestemottaker: the person who wears the alarm.
CREATE TABLE recipients (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organisation_id uuid NOT NULL,
  department_id uuid NOT NULL,
  first_name text NOT NULL,
  last_name text NOT NULL,
  birth_date date,
  responder_notes text NOT NULL DEFAULT '',
  -- Legal basis for location tracking (pasient- og brukerrettighetsloven § 4-6 a).
  legal_basis text NOT NULL CHECK (legal_basis IN ('consent', 'formal_decision', 'other')),
  legal_basis_reference text,
  legal_basis_date date,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'ended')),
  service_ended_on date,
  restricted_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (organisation_id, id),
  FOREIGN KEY (organisation_id) REFERENCES organisations (id) ON DELETE CASCADE,
  FOREIGN KEY (organisation_id, department_id) REFERENCES departments (organisation_id, id)
);
CREATE INDEX recipients_department_idx ON recipients (organisation_id, department_id);

CREATE TABLE devices (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organisation_id uuid NOT NULL,
  department_id uuid NOT NULL,
  serial text NOT NULL UNIQUE CHECK (serial ~ '^[A-Za-z0-9_-]{1,64}$'),
  imei text UNIQUE,
  model text NOT NULL DEFAULT 'generic',
  -- The MQTT username is the serial; the secret is shown once and stored only
  -- as hashes: SHA-256 for the embedded broker (the secret is 32 random bytes,
  -- so a slow hash adds nothing) and Mosquitto's PBKDF2 form for its files.
  mqtt_secret_sha256 text,
  mqtt_secret_mosquitto text,
  recipient_id uuid,
  desired_config jsonb NOT NULL DEFAULT '{}'::jsonb,
  desired_config_version integer NOT NULL DEFAULT 1,
  reported_config jsonb,
  reported_config_version integer,
  last_seen_at timestamptz,
  battery_percent smallint CHECK (battery_percent BETWEEN 0 AND 100),
  charging boolean,
  online boolean NOT NULL DEFAULT false,
  tracking_until timestamptz,
  retired_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (organisation_id, id),
  FOREIGN KEY (organisation_id) REFERENCES organisations (id) ON DELETE CASCADE,
  FOREIGN KEY (organisation_id, department_id) REFERENCES departments (organisation_id, id),
  FOREIGN KEY (organisation_id, recipient_id) REFERENCES recipients (organisation_id, id)
);
-- At most one active device per recipient.
CREATE UNIQUE INDEX devices_one_per_recipient_idx ON devices (recipient_id)
  WHERE recipient_id IS NOT NULL AND retired_at IS NULL;

CREATE TABLE geofences (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organisation_id uuid NOT NULL,
  recipient_id uuid NOT NULL,
  name text NOT NULL,
  -- {"kind":"circle","center":{"lat","lon"},"radiusM"} or {"kind":"polygon","points":[{"lat","lon"},...]}
  shape jsonb NOT NULL,
  active boolean NOT NULL DEFAULT true,
  -- Daily window in the organisation's time zone; both NULL means always.
  window_start time,
  window_end time,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (organisation_id, id),
  FOREIGN KEY (organisation_id, recipient_id) REFERENCES recipients (organisation_id, id) ON DELETE CASCADE,
  CHECK ((window_start IS NULL) = (window_end IS NULL))
);

CREATE TABLE alarms (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organisation_id uuid NOT NULL,
  department_id uuid NOT NULL,
  device_id uuid NOT NULL,
  recipient_id uuid,
  type text NOT NULL CHECK (type IN ('sos', 'fall', 'geofence_exit', 'geofence_enter', 'low_battery',
    'no_contact', 'no_movement', 'power_off', 'out_of_bed', 'outdated_position', 'other')),
  severity text NOT NULL CHECK (severity IN ('critical', 'high', 'medium', 'low')),
  state text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'acknowledged', 'resolved', 'cancelled')),
  source text NOT NULL CHECK (source IN ('device', 'platform')),
  -- Device alarms: the device's message id makes redelivery idempotent.
  device_message_id text,
  -- Platform alarms: what condition raised it (e.g. a geofence id), so that a
  -- condition raises one alarm until it clears.
  condition_key text,
  raised_at timestamptz NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  lat double precision,
  lon double precision,
  accuracy_m real,
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  assigned_to uuid,
  acknowledged_at timestamptz,
  closed_at timestamptz,
  outcome text,
  UNIQUE (organisation_id, id),
  FOREIGN KEY (organisation_id, department_id) REFERENCES departments (organisation_id, id),
  FOREIGN KEY (organisation_id, device_id) REFERENCES devices (organisation_id, id),
  FOREIGN KEY (organisation_id, recipient_id) REFERENCES recipients (organisation_id, id),
  FOREIGN KEY (organisation_id, assigned_to) REFERENCES staff_users (organisation_id, id),
  CHECK ((source = 'device') = (device_message_id IS NOT NULL))
);
CREATE UNIQUE INDEX alarms_device_message_idx ON alarms (device_id, device_message_id)
  WHERE device_message_id IS NOT NULL;
CREATE UNIQUE INDEX alarms_open_condition_idx ON alarms (device_id, type, coalesce(condition_key, ''))
  WHERE source = 'platform' AND state IN ('open', 'acknowledged');
CREATE INDEX alarms_queue_idx ON alarms (organisation_id, state, raised_at DESC);
CREATE INDEX alarms_department_idx ON alarms (organisation_id, department_id, raised_at DESC);

-- Every transition of an alarm, time-stamped and attributed.
CREATE TABLE alarm_transitions (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  organisation_id uuid NOT NULL,
  alarm_id uuid NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  kind text NOT NULL CHECK (kind IN ('raised', 'acknowledged', 'commented', 'resolved', 'cancelled',
    'reopened', 'cleared', 'escalated', 'notified', 'device_confirmed')),
  from_state text,
  to_state text,
  actor_user_id uuid,
  actor_token_id uuid,
  note text,
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  FOREIGN KEY (organisation_id, alarm_id) REFERENCES alarms (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX alarm_transitions_alarm_idx ON alarm_transitions (alarm_id, at);

-- Messages that failed validation: kept with the reason, never silently dropped.
CREATE TABLE dead_letters (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  received_at timestamptz NOT NULL DEFAULT now(),
  transport text NOT NULL CHECK (transport IN ('mqtt', 'http')),
  topic text NOT NULL,
  organisation_id uuid REFERENCES organisations (id) ON DELETE CASCADE,
  device_id uuid REFERENCES devices (id) ON DELETE SET NULL,
  reason text NOT NULL,
  detail text,
  payload_excerpt text NOT NULL,
  payload_bytes integer NOT NULL
);
CREATE INDEX dead_letters_org_idx ON dead_letters (organisation_id, received_at DESC);
CREATE INDEX dead_letters_time_idx ON dead_letters (received_at);
