-- Retention's one way to remove activity-log rows (vakt_activity_log_prune, 0060) takes the
-- time "as of" which to prune from its caller, the application's runtime role. It is now bounded
-- by the database's clock, so that role can remove only what retention itself would remove today:
-- rows older than the organisation's activity_log_days (at least 730) before now. Otherwise the
-- same function as in 0060.
CREATE OR REPLACE FUNCTION vakt_activity_log_prune(org uuid, as_of timestamptz)
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
  -- Never later than the database's own clock: the application role may call this (SECURITY
  -- DEFINER), and "as of a hundred years from now" removed every row but the newest.
  as_of := least(as_of, now());
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
