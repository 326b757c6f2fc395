-- Alert routing (issue 5): who is told about which alarm, in what order, on
-- which channel, at what hours; every delivery attempt per alarm; which API
-- process claimed an alarm's handling; and what the socket.io Postgres adapter
-- needs. Escalation timers themselves are graphile-worker jobs (schema
-- graphile_worker, created by the worker at start).

-- Where alerts can go besides staff users: a webhook (e.g. an alarm receiving
-- centre), a fixed e-mail address or a phone number for SMS.
CREATE TABLE alert_endpoints (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organisation_id uuid NOT NULL,
  department_id uuid NOT NULL,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  kind text NOT NULL CHECK (kind IN ('webhook', 'email', 'sms')),
  target text NOT NULL CHECK (length(target) BETWEEN 1 AND 2000),
  -- Webhooks: the HMAC-SHA256 key the receiver checks the signature with.
  secret text,
  enabled boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (organisation_id, id),
  FOREIGN KEY (organisation_id) REFERENCES organisations (id) ON DELETE CASCADE,
  FOREIGN KEY (organisation_id, department_id) REFERENCES departments (organisation_id, id)
);
CREATE INDEX alert_endpoints_department_idx ON alert_endpoints (organisation_id, department_id);

-- A rule applies to alarms of its department and every sub-department, unless a
-- deeper department has a matching rule of its own (the deepest match wins).
-- steps: ordered [{waitS, users: uuid[], roles: text[], channels: text[], endpointIds: uuid[]}].
-- schedule: null (always) or [{days: [1..7, ISO weekday], start: "HH:MM", end: "HH:MM"}] in the
-- organisation's time zone.
CREATE TABLE alert_rules (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organisation_id uuid NOT NULL,
  department_id uuid NOT NULL,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  alarm_types text[],
  severities text[],
  schedule jsonb,
  steps jsonb NOT NULL DEFAULT '[]'::jsonb,
  reminder_interval_s integer CHECK (reminder_interval_s >= 30),
  max_reminders integer NOT NULL DEFAULT 0 CHECK (max_reminders BETWEEN 0 AND 100),
  enabled boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (organisation_id, id),
  FOREIGN KEY (organisation_id) REFERENCES organisations (id) ON DELETE CASCADE,
  FOREIGN KEY (organisation_id, department_id) REFERENCES departments (organisation_id, id)
);
CREATE INDEX alert_rules_department_idx ON alert_rules (organisation_id, department_id);

-- One row per alarm once an API process has taken charge of it (tracking on,
-- routing started): the insert is the claim, so several processes hearing the
-- same NOTIFY act once.
CREATE TABLE alarm_routing (
  alarm_id uuid PRIMARY KEY,
  organisation_id uuid NOT NULL,
  rule_id uuid,
  -- 1-based number of the next step to run; the last step is followed by reminders.
  next_step integer NOT NULL DEFAULT 1,
  reminders_sent integer NOT NULL DEFAULT 0,
  status text NOT NULL CHECK (status IN ('active', 'stopped', 'done', 'no_rule')),
  claimed_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (organisation_id, alarm_id) REFERENCES alarms (organisation_id, id) ON DELETE CASCADE
);

-- Every attempt to tell someone: per alarm (or per endpoint for a ping), channel, target, result.
CREATE TABLE alarm_deliveries (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
  alarm_id uuid,
  endpoint_id uuid,
  step integer,
  channel text NOT NULL CHECK (channel IN ('console', 'email', 'webhook', 'sms')),
  target text NOT NULL,
  result text NOT NULL CHECK (result IN ('sent', 'failed', 'retrying', 'skipped')),
  attempt integer NOT NULL DEFAULT 1,
  detail text,
  at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (organisation_id, alarm_id) REFERENCES alarms (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX alarm_deliveries_alarm_idx ON alarm_deliveries (alarm_id, at);
CREATE INDEX alarm_deliveries_endpoint_idx ON alarm_deliveries (endpoint_id, at) WHERE endpoint_id IS NOT NULL;

-- Live sockets re-check their grants when these change (besides every few seconds).
CREATE FUNCTION vakt_notify_auth_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
  PERFORM pg_notify('vakt_auth', json_build_object('table', TG_TABLE_NAME,
    'userId', CASE WHEN TG_TABLE_NAME = 'staff_users' THEN r.id ELSE r.user_id END)::text);
  RETURN NULL;
END $$;
CREATE TRIGGER role_grants_auth_notify AFTER INSERT OR UPDATE OR DELETE ON role_grants
  FOR EACH ROW EXECUTE FUNCTION vakt_notify_auth_change();
CREATE TRIGGER sessions_auth_notify AFTER DELETE ON sessions
  FOR EACH ROW EXECUTE FUNCTION vakt_notify_auth_change();
CREATE TRIGGER staff_users_auth_notify AFTER UPDATE OF status, access_ended_at ON staff_users
  FOR EACH ROW EXECUTE FUNCTION vakt_notify_auth_change();

CREATE FUNCTION vakt_notify_token_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('vakt_auth', json_build_object('table', 'api_tokens', 'tokenId', NEW.id)::text);
  RETURN NULL;
END $$;
CREATE TRIGGER api_tokens_auth_notify AFTER UPDATE ON api_tokens
  FOR EACH ROW WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
                     OR OLD.department_ids IS DISTINCT FROM NEW.department_ids)
  EXECUTE FUNCTION vakt_notify_token_change();

-- @socket.io/postgres-adapter: payloads over NOTIFY's 8000-byte limit go through this table.
CREATE TABLE socket_io_attachments (
  id bigserial UNIQUE,
  created_at timestamptz DEFAULT now(),
  payload bytea
);
