-- The processes connect as a runtime role that is neither superuser nor owner
-- of the tables (issue 15, item 6). Migrations run as the owner; the runtime
-- login role is a member of the NOLOGIN group role vakt_app, which gets what
-- the application needs: reading and writing its tables, sequences, temporary
-- tables (ingest stages COPY batches in them), graphile-worker's schema. On the
-- activity log it may SELECT and INSERT only, on the retention anchors SELECT
-- only; as it owns nothing it cannot ALTER a table or disable a trigger.
--
-- Roles are cluster-wide: creating vakt_app is skipped (with a notice) when it
-- exists already or the migrating user may not create roles. Then an operator
-- creates it (CREATE ROLE vakt_app NOLOGIN) and runs SELECT vakt_grant_app_role().

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vakt_app') THEN
    CREATE ROLE vakt_app NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
  END IF;
EXCEPTION
  WHEN duplicate_object OR unique_violation THEN
    RAISE NOTICE 'role vakt_app exists already';
  WHEN insufficient_privilege THEN
    RAISE NOTICE 'role vakt_app not created (%): create it and run SELECT vakt_grant_app_role()', SQLERRM;
END
$$;

-- Time-series maintenance (the retention job, run by the runtime role) needs
-- the owner's rights for its DDL: these definer functions do only that, and
-- only on the tables listed in timeseries_tables.
ALTER FUNCTION vakt_ensure_partitions(text, timestamptz, timestamptz) SECURITY DEFINER;
ALTER FUNCTION vakt_ensure_partitions(text, timestamptz, timestamptz) SET search_path FROM CURRENT;

CREATE FUNCTION vakt_drop_partition(tbl text, part text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM timeseries_tables t WHERE t.table_name = tbl AND t.engine = 'partitioned')
     OR part !~ '_p[0-9]{8}$'
     OR NOT EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                      JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = tbl AND c.relname = part) THEN
    RAISE EXCEPTION '% is not a daily partition of a time-series table', part USING ERRCODE = 'insufficient_privilege';
  END IF;
  EXECUTE format('DROP TABLE IF EXISTS %I', part);
END
$$;

CREATE FUNCTION vakt_drop_old_chunks(tbl text, older_than timestamptz) RETURNS SETOF text
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM timeseries_tables t WHERE t.table_name = tbl AND t.engine = 'timescaledb') THEN
    RAISE EXCEPTION '% is not a hypertable of Vakt', tbl USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN QUERY EXECUTE 'SELECT drop_chunks($1::regclass, older_than => $2)::text' USING tbl, older_than;
END
$$;

-- Idempotent; run again after graphile-worker installs or upgrades its schema.
CREATE OR REPLACE FUNCTION vakt_grant_app_role() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  app_schema text := current_schema();
  t name;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vakt_app') THEN
    RAISE NOTICE 'role vakt_app does not exist: privileges not granted';
    RETURN;
  END IF;
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO vakt_app', app_schema);
  -- PUBLIC has these by default; granted too in case a site revoked them.
  BEGIN
    EXECUTE format('GRANT TEMPORARY, CONNECT ON DATABASE %I TO vakt_app', current_database());
  EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'database privileges for vakt_app not granted: %', SQLERRM;
  END;
  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO vakt_app', app_schema);
  EXECUTE format('GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO vakt_app', app_schema);
  EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA %I TO vakt_app', app_schema);
  -- Tables made by later migrations (run by this same owner) get the same.
  EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO vakt_app', app_schema);
  EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO vakt_app', app_schema);
  -- The log is append-only for the application: no UPDATE, DELETE or TRUNCATE.
  REVOKE ALL ON activity_log FROM vakt_app;
  GRANT SELECT, INSERT ON activity_log TO vakt_app;
  REVOKE ALL ON activity_log_anchors FROM vakt_app;
  GRANT SELECT ON activity_log_anchors TO vakt_app;
  -- The applied-migrations list is the owner's.
  REVOKE ALL ON schema_migrations FROM vakt_app;
  GRANT SELECT ON schema_migrations TO vakt_app;
  IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'graphile_worker') THEN
    GRANT USAGE ON SCHEMA graphile_worker TO vakt_app;
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA graphile_worker TO vakt_app;
    GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA graphile_worker TO vakt_app;
    GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA graphile_worker TO vakt_app;
    -- graphile-worker turns row-level security on for its private tables (only
    -- their owner passes); vakt_app gets a policy letting it use every row.
    FOR t IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'graphile_worker' AND c.relkind = 'r' AND c.relrowsecurity LOOP
      IF NOT EXISTS (SELECT 1 FROM pg_policies p WHERE p.schemaname = 'graphile_worker'
                       AND p.tablename = t AND p.policyname = 'vakt_app_all') THEN
        EXECUTE format('CREATE POLICY vakt_app_all ON graphile_worker.%I FOR ALL TO vakt_app USING (true) WITH CHECK (true)', t);
      END IF;
    END LOOP;
  END IF;
END
$$;

DO $$
BEGIN
  PERFORM vakt_grant_app_role();
EXCEPTION WHEN insufficient_privilege THEN
  RAISE NOTICE 'vakt_app privileges not granted: %', SQLERRM;
END
$$;
