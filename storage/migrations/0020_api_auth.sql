-- Login, sessions, brute-force counting, invitations, password resets and API
-- tokens for the API. Secrets (session tokens, invitation and reset tokens, API
-- tokens) are stored only as SHA-256 hashes: they are 32 random bytes, so a slow
-- hash adds nothing, and a leaked table grants nothing.

-- TOTP replay protection: the last accepted time step.
ALTER TABLE staff_users ADD COLUMN totp_last_step bigint;

CREATE TABLE sessions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  token_sha256 text NOT NULL UNIQUE,
  organisation_id uuid NOT NULL,
  user_id uuid NOT NULL,
  -- 'active', or waiting for a second factor (code, or enrolment first).
  stage text NOT NULL CHECK (stage IN ('active', 'second_factor_required', 'second_factor_enrolment_required')),
  csrf_sha256 text NOT NULL,
  created_at timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  idle_expires_at timestamptz NOT NULL,
  absolute_expires_at timestamptz NOT NULL,
  ip inet,
  user_agent text,
  FOREIGN KEY (organisation_id, user_id) REFERENCES staff_users (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expiry_idx ON sessions (absolute_expires_at);

-- Every login attempt, counted per account and per address so that lockout
-- holds across API processes.
CREATE TABLE login_attempts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at timestamptz NOT NULL,
  email text NOT NULL,
  ip inet,
  success boolean NOT NULL
);
CREATE INDEX login_attempts_email_idx ON login_attempts (email, at DESC);
CREATE INDEX login_attempts_ip_idx ON login_attempts (ip, at DESC);

-- Single-use tokens: deleted once used.
CREATE TABLE invitations (
  token_sha256 text PRIMARY KEY,
  organisation_id uuid NOT NULL,
  user_id uuid NOT NULL,
  created_by uuid,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  FOREIGN KEY (organisation_id, user_id) REFERENCES staff_users (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX invitations_user_idx ON invitations (user_id);

CREATE TABLE password_resets (
  token_sha256 text PRIMARY KEY,
  organisation_id uuid NOT NULL,
  user_id uuid NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  FOREIGN KEY (organisation_id, user_id) REFERENCES staff_users (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX password_resets_user_idx ON password_resets (user_id);

CREATE TABLE api_tokens (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  token_sha256 text NOT NULL UNIQUE,
  permissions text[] NOT NULL,
  -- NULL: the whole organisation; otherwise these departments and their subtrees.
  department_ids uuid[],
  pseudonymous boolean NOT NULL DEFAULT true,
  created_by uuid,
  created_at timestamptz NOT NULL,
  expires_at timestamptz,
  last_used_at timestamptz,
  revoked_at timestamptz,
  UNIQUE (organisation_id, id)
);

-- The application may append to the activity log, never change it. The
-- triggers of 0004 refuse changes for everyone; the privileges say the same to
-- any role but the owner. Revoking from the owner itself would fail nothing but
-- is undone by any GRANT, so it is left to the trigger.
DO $$
BEGIN
  REVOKE UPDATE, DELETE, TRUNCATE ON activity_log FROM PUBLIC;
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vakt_app')
     AND (SELECT tableowner FROM pg_tables WHERE tablename = 'activity_log' AND schemaname = current_schema())
         <> 'vakt_app' THEN
    EXECUTE 'REVOKE UPDATE, DELETE, TRUNCATE ON activity_log FROM vakt_app';
    EXECUTE 'GRANT SELECT, INSERT ON activity_log TO vakt_app';
  END IF;
EXCEPTION WHEN insufficient_privilege THEN
  RAISE NOTICE 'activity_log privileges not changed: %', SQLERRM;
END
$$;
