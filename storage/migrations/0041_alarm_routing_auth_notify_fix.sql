-- 0040's vakt_notify_auth_change read r.user_id inside a CASE also for
-- staff_users rows, which have no such field (plpgsql resolves both branches):
-- updating a user's status failed. Same notifications, one branch per table.
CREATE OR REPLACE FUNCTION vakt_notify_auth_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  user_id uuid;
BEGIN
  IF TG_TABLE_NAME = 'staff_users' THEN
    user_id := NEW.id;
  ELSIF TG_OP = 'DELETE' THEN
    user_id := OLD.user_id;
  ELSE
    user_id := NEW.user_id;
  END IF;
  PERFORM pg_notify('vakt_auth', json_build_object('table', TG_TABLE_NAME, 'userId', user_id)::text);
  RETURN NULL;
END $$;
