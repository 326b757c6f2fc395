-- Privacy by design (issue 7): retention settings per organisation, a record
-- of every retention run, erasure records for what survives an erasure, and a
-- retention path for the activity log that keeps its hash chain verifiable.

-- How long an organisation keeps each kind of data, in days. The ceilings of
-- the time-series tables (timeseries_tables.keep_for) bound positions, status
-- and raw messages from above; the service refuses values above them. Floors:
-- alarms are documentation of care given (at least 1 year), the activity log
-- at least 2 years (the application never shortens it below that).
CREATE TABLE retention_settings (
  organisation_id uuid PRIMARY KEY REFERENCES organisations (id) ON DELETE CASCADE,
  positions_days integer NOT NULL DEFAULT 90 CHECK (positions_days BETWEEN 1 AND 3660),
  device_status_days integer NOT NULL DEFAULT 90 CHECK (device_status_days BETWEEN 1 AND 90),
  device_messages_days integer NOT NULL DEFAULT 30 CHECK (device_messages_days BETWEEN 1 AND 90),
  dead_letters_days integer NOT NULL DEFAULT 30 CHECK (dead_letters_days BETWEEN 1 AND 90),
  alarms_days integer NOT NULL DEFAULT 1827 CHECK (alarms_days BETWEEN 365 AND 3653),
  activity_log_days integer NOT NULL DEFAULT 1827 CHECK (activity_log_days BETWEEN 730 AND 3653),
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by uuid
);

-- Every run of the retention job: when, as of which instant, and what it did.
CREATE TABLE retention_runs (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  as_of timestamptz NOT NULL,
  started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  finished_at timestamptz,
  status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
  trigger text NOT NULL CHECK (trigger IN ('schedule', 'manual')),
  error text
);
CREATE INDEX retention_runs_started_idx ON retention_runs (started_at DESC);

-- Rows removed (or people erased) per run, organisation (NULL: not owned by one) and category.
CREATE TABLE retention_run_counts (
  run_id bigint NOT NULL REFERENCES retention_runs (id) ON DELETE CASCADE,
  organisation_id uuid REFERENCES organisations (id) ON DELETE CASCADE,
  category text NOT NULL,
  rows bigint NOT NULL CHECK (rows >= 0)
);
CREATE INDEX retention_run_counts_run_idx ON retention_run_counts (run_id, organisation_id);

-- An erased person leaves only this: which row it was (the former id, now a
-- pseudonym linking the kept alarms and activity-log rows, pointing at nobody),
-- why it was erased, why what is kept was kept, and how much was removed.
CREATE TABLE erasure_records (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
  subject_type text NOT NULL CHECK (subject_type IN ('recipient', 'staff_user')),
  subject_ref uuid NOT NULL,
  erased_at timestamptz NOT NULL,
  trigger text NOT NULL CHECK (trigger IN ('request', 'retention')),
  requested_by_type text CHECK (requested_by_type IN ('user', 'api_token', 'system')),
  requested_by uuid,
  reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
  kept_legal_basis text NOT NULL,
  counts jsonb NOT NULL DEFAULT '{}'::jsonb,
  UNIQUE (organisation_id, subject_type, subject_ref),
  UNIQUE (organisation_id, id)
);

-- An alarm whose recipient was erased keeps what documents it (type, times,
-- state, transitions and who handled it) and points at the erasure record.
ALTER TABLE alarms ADD COLUMN erasure_id uuid;
ALTER TABLE alarms ADD CONSTRAINT alarms_erasure_fk
  FOREIGN KEY (organisation_id, erasure_id) REFERENCES erasure_records (organisation_id, id);

-- Activity-log retention. Only whole prefixes of an organisation's chain are
-- removed, never its newest row; the anchor keeps the seq and hash of the last
-- removed row, and verification starts from it.
CREATE TABLE activity_log_anchors (
  organisation_id uuid PRIMARY KEY REFERENCES organisations (id),
  upto_seq bigint NOT NULL CHECK (upto_seq >= 1),
  upto_hash bytea NOT NULL,
  upto_at timestamptz NOT NULL,
  pruned_rows bigint NOT NULL CHECK (pruned_rows >= 0),
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- The append-only trigger now lets exactly one thing through: DELETE of rows
-- covered by the organisation's anchor, inside vakt_activity_log_prune (which
-- sets vakt.activity_log_prune for its own transaction only). UPDATE, TRUNCATE
-- and any other DELETE are refused as before.
CREATE OR REPLACE FUNCTION vakt_activity_log_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE'
     AND coalesce(current_setting('vakt.activity_log_prune', true), '') = 'on'
     AND EXISTS (SELECT 1 FROM activity_log_anchors a
                  WHERE a.organisation_id = OLD.organisation_id AND OLD.seq <= a.upto_seq) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'activity_log is append-only (% refused)', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;

-- Anchors move only forward, and only inside vakt_activity_log_prune.
CREATE FUNCTION vakt_activity_log_anchor_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('DELETE', 'TRUNCATE')
     OR coalesce(current_setting('vakt.activity_log_prune', true), '') <> 'on'
     OR (TG_OP = 'UPDATE' AND NEW.upto_seq <= OLD.upto_seq) THEN
    RAISE EXCEPTION 'activity_log_anchors change refused (%)', TG_OP USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER activity_log_anchors_guard BEFORE INSERT OR UPDATE OR DELETE ON activity_log_anchors
  FOR EACH ROW EXECUTE FUNCTION vakt_activity_log_anchor_guard();
CREATE TRIGGER activity_log_anchors_no_truncate BEFORE TRUNCATE ON activity_log_anchors
  FOR EACH STATEMENT EXECUTE FUNCTION vakt_activity_log_anchor_guard();

-- Verification starts from the anchor when a prefix was removed.
CREATE OR REPLACE FUNCTION vakt_activity_log_verify(org uuid)
RETURNS TABLE (seq bigint, problem text) LANGUAGE plpgsql STABLE AS $$
DECLARE
  r activity_log%ROWTYPE;
  expected_seq bigint := 1;
  expected_prev bytea := '\x'::bytea;
  anchor activity_log_anchors%ROWTYPE;
BEGIN
  SELECT * INTO anchor FROM activity_log_anchors a WHERE a.organisation_id = org;
  IF FOUND THEN
    expected_seq := anchor.upto_seq + 1;
    expected_prev := anchor.upto_hash;
  END IF;
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

-- Removes the organisation's activity-log rows older than its retention
-- (retention_settings.activity_log_days, at least 730 days by constraint) as
-- of `as_of`: the longest prefix of the chain whose rows are all older, never
-- the newest row. Refuses when the chain does not verify (removing rows must
-- not hide a change). Returns the number of rows removed. SECURITY DEFINER so
-- that the application role, which may not DELETE from activity_log, can run
-- this one path.
CREATE FUNCTION vakt_activity_log_prune(org uuid, as_of timestamptz)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  keep_days integer;
  cutoff timestamptz;
  first_kept bigint;
  last_seq bigint;
  upto bigint;
  prev_upto bigint;
  last_removed activity_log%ROWTYPE;
  bad record;
  n bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('vakt.activity_log:' || org::text, 0));
  SELECT coalesce((SELECT activity_log_days FROM retention_settings WHERE organisation_id = org), 1827)
    INTO keep_days;
  cutoff := as_of - make_interval(days => keep_days);
  SELECT max(a.seq) INTO last_seq FROM activity_log a WHERE a.organisation_id = org;
  IF last_seq IS NULL THEN RETURN 0; END IF;
  SELECT min(a.seq) INTO first_kept FROM activity_log a WHERE a.organisation_id = org AND a.at >= cutoff;
  upto := least(coalesce(first_kept, last_seq + 1) - 1, last_seq - 1);
  SELECT a.upto_seq INTO prev_upto FROM activity_log_anchors a WHERE a.organisation_id = org;
  IF upto < 1 OR upto <= coalesce(prev_upto, 0) THEN RETURN 0; END IF;
  SELECT * INTO bad FROM vakt_activity_log_verify(org) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'activity log of % does not verify at seq % (%); nothing removed', org, bad.seq, bad.problem
      USING ERRCODE = 'data_corrupted';
  END IF;
  SELECT * INTO last_removed FROM activity_log a WHERE a.organisation_id = org AND a.seq = upto;
  PERFORM set_config('vakt.activity_log_prune', 'on', true);
  -- The anchor covers the rows before they go (the append-only trigger checks it).
  INSERT INTO activity_log_anchors AS x (organisation_id, upto_seq, upto_hash, upto_at, pruned_rows)
    VALUES (org, upto, last_removed.hash, last_removed.at, upto)
    ON CONFLICT (organisation_id) DO UPDATE
      SET upto_seq = EXCLUDED.upto_seq, upto_hash = EXCLUDED.upto_hash, upto_at = EXCLUDED.upto_at,
          pruned_rows = x.pruned_rows + (EXCLUDED.upto_seq - x.upto_seq), updated_at = clock_timestamp();
  DELETE FROM activity_log a WHERE a.organisation_id = org AND a.seq <= upto;
  GET DIAGNOSTICS n = ROW_COUNT;
  PERFORM set_config('vakt.activity_log_prune', 'off', true);
  RETURN n;
END
$$;

-- Like the log itself: the application role may read anchors, never change them.
DO $$
BEGIN
  REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON activity_log_anchors FROM PUBLIC;
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vakt_app')
     AND (SELECT tableowner FROM pg_tables WHERE tablename = 'activity_log_anchors' AND schemaname = current_schema())
         <> 'vakt_app' THEN
    EXECUTE 'REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON activity_log_anchors FROM vakt_app';
    EXECUTE 'GRANT SELECT ON activity_log_anchors TO vakt_app';
    EXECUTE 'GRANT EXECUTE ON FUNCTION vakt_activity_log_prune(uuid, timestamptz) TO vakt_app';
  END IF;
EXCEPTION WHEN insufficient_privilege THEN
  RAISE NOTICE 'activity_log_anchors privileges not changed: %', SQLERRM;
END
$$;
