-- The activity log: one append-only row per action that touches personal data.
--
-- Rows never hold names, only ids, so erasing a person later leaves the chain
-- intact. Each row's hash covers its content and the previous row's hash within
-- the organisation; vakt_activity_log_verify() recomputes the chain. The
-- trigger serialises writers per organisation with a transaction-scoped
-- advisory lock, so seq has no gaps and the chain no forks.

CREATE TABLE activity_log (
  organisation_id uuid NOT NULL REFERENCES organisations (id),
  seq bigint NOT NULL,
  id uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,
  at timestamptz NOT NULL DEFAULT now(),
  actor_type text NOT NULL CHECK (actor_type IN ('user', 'api_token', 'system', 'anonymous')),
  actor_id uuid,
  session_id text,
  action text NOT NULL,
  subject_type text,
  subject_id uuid,
  recipient_ids uuid[] NOT NULL DEFAULT '{}',
  reason text,
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  ip inet,
  prev_hash bytea NOT NULL,
  hash bytea NOT NULL,
  PRIMARY KEY (organisation_id, seq)
);
CREATE INDEX activity_log_actor_idx ON activity_log (organisation_id, actor_id, at DESC);
CREATE INDEX activity_log_recipients_idx ON activity_log USING gin (recipient_ids);
CREATE INDEX activity_log_time_idx ON activity_log (organisation_id, at DESC);

-- The canonical text a row's hash is computed over. Changing this function
-- would break verification of old rows: add a version instead.
CREATE FUNCTION vakt_activity_log_row_text(r activity_log) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT concat_ws('|', 'v1', r.organisation_id, r.seq, r.id,
    to_char(r.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    r.actor_type, r.actor_id, r.session_id, r.action, r.subject_type, r.subject_id,
    array_to_string(r.recipient_ids, ','), r.reason, r.details::text, host(r.ip))
$$;

CREATE FUNCTION vakt_activity_log_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  last activity_log%ROWTYPE;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('vakt.activity_log:' || NEW.organisation_id::text, 0));
  SELECT * INTO last FROM activity_log
    WHERE organisation_id = NEW.organisation_id ORDER BY seq DESC LIMIT 1;
  IF FOUND THEN
    NEW.seq := last.seq + 1;
    NEW.prev_hash := last.hash;
  ELSE
    NEW.seq := 1;
    NEW.prev_hash := '\x'::bytea;
  END IF;
  NEW.hash := sha256(NEW.prev_hash || convert_to(vakt_activity_log_row_text(NEW), 'UTF8'));
  RETURN NEW;
END
$$;

CREATE TRIGGER activity_log_chain BEFORE INSERT ON activity_log
  FOR EACH ROW EXECUTE FUNCTION vakt_activity_log_chain();

CREATE FUNCTION vakt_activity_log_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'activity_log is append-only (% refused)', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER activity_log_append_only BEFORE UPDATE OR DELETE ON activity_log
  FOR EACH ROW EXECUTE FUNCTION vakt_activity_log_refuse_change();
CREATE TRIGGER activity_log_no_truncate BEFORE TRUNCATE ON activity_log
  FOR EACH STATEMENT EXECUTE FUNCTION vakt_activity_log_refuse_change();

-- Returns the first row whose hash or link does not verify, or nothing.
-- A deleted row shows as a seq gap or a broken prev_hash link.
CREATE FUNCTION vakt_activity_log_verify(org uuid)
RETURNS TABLE (seq bigint, problem text) LANGUAGE plpgsql STABLE AS $$
DECLARE
  r activity_log%ROWTYPE;
  expected_seq bigint := 1;
  expected_prev bytea := '\x'::bytea;
BEGIN
  FOR r IN SELECT * FROM activity_log a WHERE a.organisation_id = org ORDER BY a.seq LOOP
    IF r.seq <> expected_seq THEN
      seq := expected_seq; problem := 'missing row'; RETURN NEXT; RETURN;
    END IF;
    IF r.prev_hash <> expected_prev THEN
      seq := r.seq; problem := 'broken link to previous row'; RETURN NEXT; RETURN;
    END IF;
    IF r.hash <> sha256(r.prev_hash || convert_to(vakt_activity_log_row_text(r), 'UTF8')) THEN
      seq := r.seq; problem := 'row content changed'; RETURN NEXT; RETURN;
    END IF;
    expected_seq := r.seq + 1;
    expected_prev := r.hash;
  END LOOP;
END
$$;
