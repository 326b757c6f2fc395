-- The activity log's chain is keyed (issue 15, item 7). The application
-- computes each row's hash with HMAC-SHA-256 under a key the database never
-- holds, names the key in key_id, and keeps content_mac (the HMAC of the row's
-- canonical text) beside the chained hash, so verification can tell a changed
-- row (content_mac no longer matches) from a row written without the key
-- (hash does not match). Rows without key_id are legacy rows: the trigger of
-- 0004 still chains them with unkeyed SHA-256, and the application's verify
-- accepts them only before an organisation's first keyed row.

ALTER TABLE activity_log ADD COLUMN key_id text;
ALTER TABLE activity_log ADD COLUMN content_mac bytea;
ALTER TABLE activity_log ADD CONSTRAINT activity_log_keyed_whole
  CHECK ((key_id IS NULL) = (content_mac IS NULL));

-- Keyed rows arrive with seq, prev_hash and hash computed by the application,
-- which holds the same per-organisation advisory lock while it reads the head.
-- The trigger checks they extend the head, so the chain still cannot fork.
CREATE OR REPLACE FUNCTION vakt_activity_log_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  last activity_log%ROWTYPE;
  anchor activity_log_anchors%ROWTYPE;
  head_seq bigint := 0;
  head_hash bytea := '\x'::bytea;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('vakt.activity_log:' || NEW.organisation_id::text, 0));
  SELECT * INTO last FROM activity_log
    WHERE organisation_id = NEW.organisation_id ORDER BY seq DESC LIMIT 1;
  IF FOUND THEN
    head_seq := last.seq;
    head_hash := last.hash;
  ELSE
    SELECT * INTO anchor FROM activity_log_anchors a WHERE a.organisation_id = NEW.organisation_id;
    IF FOUND THEN
      head_seq := anchor.upto_seq;
      head_hash := anchor.upto_hash;
    END IF;
  END IF;
  IF NEW.key_id IS NOT NULL THEN
    IF NEW.seq <> head_seq + 1 OR NEW.prev_hash <> head_hash THEN
      RAISE EXCEPTION 'activity_log row does not extend the head (seq % after %)', NEW.seq, head_seq
        USING ERRCODE = 'serialization_failure';
    END IF;
    RETURN NEW;
  END IF;
  NEW.seq := head_seq + 1;
  NEW.prev_hash := head_hash;
  NEW.hash := sha256(NEW.prev_hash || convert_to(vakt_activity_log_row_text(NEW), 'UTF8'));
  RETURN NEW;
END
$$;

-- In the database only the links can be checked for keyed rows (the key is not
-- here); the application's verify checks the HMACs and the signed checkpoints.
-- Retention (vakt_activity_log_prune) uses this to refuse pruning a broken chain.
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
    IF r.key_id IS NULL
       AND r.hash <> sha256(r.prev_hash || convert_to(vakt_activity_log_row_text(r), 'UTF8')) THEN
      seq := r.seq; problem := 'row content changed'; RETURN NEXT; RETURN;
    END IF;
    expected_seq := r.seq + 1;
    expected_prev := r.hash;
  END LOOP;
END
$$;
