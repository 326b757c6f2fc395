-- Single sign-on with OpenID Connect (issue 9): the providers an organisation
-- configures, the rules that turn the provider's group claim into role grants,
-- the links between provider subjects and staff users, the login flows in
-- progress, and on each session what is needed for RP-initiated logout.

-- Off: staff log in only through single sign-on; organisation administrators
-- keep a password login for emergencies (break-glass), each use logged.
ALTER TABLE organisations ADD COLUMN local_password_login boolean NOT NULL DEFAULT true;

-- The client secret is needed in clear at the token endpoint, so it is stored
-- as given and never returned by the API.
CREATE TABLE sso_providers (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
  display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
  issuer text NOT NULL CHECK (length(issuer) BETWEEN 1 AND 500),
  client_id text NOT NULL CHECK (length(client_id) BETWEEN 1 AND 256),
  client_secret text NOT NULL CHECK (length(client_secret) BETWEEN 1 AND 1024),
  scopes text[] NOT NULL,
  email_claim text NOT NULL DEFAULT 'email',
  groups_claim text NOT NULL DEFAULT 'groups',
  -- Lower-case domains; the login page offers the provider for addresses in them.
  email_domains text[] NOT NULL DEFAULT '{}',
  create_users boolean NOT NULL DEFAULT false,
  require_verified_email boolean NOT NULL DEFAULT true,
  enabled boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (organisation_id, id),
  UNIQUE (organisation_id, display_name)
);
CREATE INDEX sso_providers_domains_idx ON sso_providers USING gin (email_domains);

-- Members of `group_name` get `role` on `department_id` (NULL: the whole
-- organisation). When a provider has rules, a user's grants are set to exactly
-- what their groups give at every login through it.
CREATE TABLE sso_mapping_rules (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  organisation_id uuid NOT NULL,
  provider_id uuid NOT NULL,
  position integer NOT NULL,
  group_name text NOT NULL CHECK (length(group_name) BETWEEN 1 AND 256),
  role text NOT NULL REFERENCES roles (key),
  department_id uuid,
  FOREIGN KEY (organisation_id, provider_id) REFERENCES sso_providers (organisation_id, id) ON DELETE CASCADE,
  FOREIGN KEY (organisation_id, department_id) REFERENCES departments (organisation_id, id) ON DELETE CASCADE,
  UNIQUE (provider_id, position)
);

-- Which staff user a provider's subject (`sub`) is: found first by this link,
-- so a changed e-mail at the provider still finds the same user.
CREATE TABLE sso_identities (
  organisation_id uuid NOT NULL,
  provider_id uuid NOT NULL,
  subject text NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
  user_id uuid NOT NULL,
  created_at timestamptz NOT NULL,
  last_login_at timestamptz,
  PRIMARY KEY (provider_id, subject),
  UNIQUE (provider_id, user_id),
  FOREIGN KEY (organisation_id, provider_id) REFERENCES sso_providers (organisation_id, id) ON DELETE CASCADE,
  FOREIGN KEY (organisation_id, user_id) REFERENCES staff_users (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX sso_identities_user_idx ON sso_identities (user_id);

-- An authorization request in progress: single-use, short-lived, shared by all
-- API processes. The state and the browser-binding cookie are stored hashed;
-- the nonce and PKCE verifier are needed in clear at the callback.
CREATE TABLE sso_login_flows (
  state_sha256 text PRIMARY KEY,
  organisation_id uuid NOT NULL,
  provider_id uuid NOT NULL,
  nonce text NOT NULL,
  code_verifier text NOT NULL,
  return_to text NOT NULL,
  browser_sha256 text NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  FOREIGN KEY (organisation_id, provider_id) REFERENCES sso_providers (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX sso_login_flows_expiry_idx ON sso_login_flows (expires_at);

-- A session opened through a provider remembers it and the ID token, for
-- RP-initiated logout. The token lives exactly as long as the session row.
-- Removing a provider ends the sessions opened through it.
ALTER TABLE sessions ADD COLUMN sso_provider_id uuid;
ALTER TABLE sessions ADD COLUMN id_token text;
ALTER TABLE sessions ADD CONSTRAINT sessions_sso_provider_fk
  FOREIGN KEY (organisation_id, sso_provider_id) REFERENCES sso_providers (organisation_id, id) ON DELETE CASCADE;
