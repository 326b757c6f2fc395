-- Time-series support that works on TimescaleDB and on plain PostgreSQL.
--
-- TimescaleDB is used when the server offers it (and the session did not set
-- vakt.timescaledb = 'off'); otherwise time-series tables are natively
-- partitioned by day and the application creates and drops partitions itself
-- (storage/src/partitions.ts). Table DDL is written once and handed to
-- vakt_create_timeseries(), so both engines get the same columns.

DO $$
BEGIN
  IF coalesce(current_setting('vakt.timescaledb', true), '') <> 'off'
     AND EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
    BEGIN
      CREATE EXTENSION IF NOT EXISTS timescaledb;
    EXCEPTION WHEN OTHERS THEN
      -- Installed but not preloaded, or not permitted: carry on without it.
      RAISE NOTICE 'timescaledb is available but could not be created: %', SQLERRM;
    END;
  END IF;
END
$$;

CREATE FUNCTION vakt_has_timescaledb() RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')
$$;

-- Compression, retention policies and continuous aggregates need the
-- community (TSL) licence; the Apache-only build has hypertables alone.
CREATE FUNCTION vakt_has_timescaledb_policies() RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT vakt_has_timescaledb()
     AND coalesce(current_setting('timescaledb.license', true), 'timescale') = 'timescale'
$$;

-- How long each time-series table keeps rows at most. Per-organisation
-- retention (shorter) is applied by the retention job; this is the ceiling that
-- TimescaleDB retention policies, or dropped partitions, enforce in bulk.
CREATE TABLE timeseries_tables (
  table_name text PRIMARY KEY,
  time_column text NOT NULL,
  chunk_interval interval NOT NULL,
  keep_for interval NOT NULL,
  compress_after interval,
  engine text NOT NULL CHECK (engine IN ('timescaledb', 'partitioned'))
);

-- Daily partitions [from, to) for a natively partitioned table. Existing ones
-- are left alone; the DEFAULT partition catches anything outside.
CREATE FUNCTION vakt_ensure_partitions(tbl text, from_ts timestamptz, to_ts timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  day date := (from_ts AT TIME ZONE 'UTC')::date;
  last_day date := (to_ts AT TIME ZONE 'UTC')::date;
  part text;
  created integer := 0;
BEGIN
  WHILE day <= last_day LOOP
    part := format('%s_p%s', tbl, to_char(day, 'YYYYMMDD'));
    IF to_regclass(part) IS NULL THEN
      BEGIN
        EXECUTE format(
          'CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
          part, tbl, (day::timestamp AT TIME ZONE 'UTC'), ((day + 1)::timestamp AT TIME ZONE 'UTC'));
        created := created + 1;
      EXCEPTION WHEN check_violation THEN
        -- Rows for that day already sit in the DEFAULT partition; they stay there
        -- and the retention job deletes them by time.
        RAISE NOTICE 'partition % not created: default partition holds rows for it', part;
      END;
    END IF;
    day := day + 1;
  END LOOP;
  RETURN created;
END
$$;

CREATE FUNCTION vakt_create_timeseries(
  tbl text, columns_ddl text, time_column text, chunk interval, keep_for interval,
  compress_after interval, segment_by text, order_by text
) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  IF vakt_has_timescaledb() THEN
    EXECUTE format('CREATE TABLE %I (%s)', tbl, columns_ddl);
    -- The 2.x signature that every TimescaleDB 2 release accepts.
    PERFORM create_hypertable(tbl::regclass, time_column::name, chunk_time_interval => chunk,
                              if_not_exists => true);
    IF vakt_has_timescaledb_policies() THEN
      EXECUTE format('ALTER TABLE %I SET (timescaledb.compress, timescaledb.compress_segmentby = %L, '
                     'timescaledb.compress_orderby = %L)', tbl, segment_by, order_by);
      PERFORM add_compression_policy(tbl::regclass, compress_after, if_not_exists => true);
      PERFORM add_retention_policy(tbl::regclass, keep_for, if_not_exists => true);
    END IF;
    INSERT INTO timeseries_tables VALUES (tbl, time_column, chunk, keep_for, compress_after, 'timescaledb');
    RETURN 'timescaledb';
  END IF;
  EXECUTE format('CREATE TABLE %I (%s) PARTITION BY RANGE (%I)', tbl, columns_ddl, time_column);
  EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT', tbl || '_default', tbl);
  PERFORM vakt_ensure_partitions(tbl, now() - interval '2 days', now() + interval '7 days');
  INSERT INTO timeseries_tables VALUES (tbl, time_column, chunk, keep_for, compress_after, 'partitioned');
  RETURN 'partitioned';
END
$$;
