-- Request counters for the public endpoints (login, password reset, single
-- sign-on), shared by every API process so a limit holds behind a load
-- balancer. The shape is the one rate-limiter-flexible's PostgreSQL store
-- expects (it would create it itself; a migration keeps schema changes in one
-- place and lets the application role lack CREATE). `expire` is epoch ms.
CREATE TABLE rate_limits (
  key varchar(255) PRIMARY KEY,
  points integer NOT NULL DEFAULT 0,
  expire bigint
);
