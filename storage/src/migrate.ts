import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { ClientBase } from "pg";

// From source: storage/migrations. In a production bundle (tools/bundle.mjs): dist/migrations, beside it.
const bundled = fileURLToPath(new URL("./migrations/", import.meta.url));
export const migrationsDir = existsSync(bundled)
  ? bundled
  : fileURLToPath(new URL("../migrations/", import.meta.url));

/** Any constant works; it only has to be the same in every Vakt process. */
const MIGRATION_LOCK_KEY = 0x7661_6b74; // "vakt"

/** The migration whose CREATE EXTENSION timescaledb the runner decides about (see TimescaleDbDecision). */
const TIMESCALEDB_MIGRATION = "0001_timeseries_support.sql";

/** A file whose first line is this runs outside a transaction and must be safe to re-run. */
const NO_TRANSACTION_MARKER = "-- vakt:no-transaction";

export interface Migration {
  name: string;
  sql: string;
  transactional: boolean;
}

export interface MigrateOptions {
  /** Create plain partitioned tables even where TimescaleDB is available (tests of the fallback path). */
  withoutTimescaleDb?: boolean;
  log?: (message: string, migration: string) => void;
  /** Told what the runner decided about TimescaleDB when migration 0001 is pending (it is also logged). */
  onTimescaleDbDecision?: (decision: TimescaleDbDecision) => void;
}

/**
 * What the runner found out about TimescaleDB before migration 0001 runs, and
 * what it does about it:
 * - "off": the caller asked for native partitions (`withoutTimescaleDb`);
 * - "absent": the server does not offer the extension;
 * - "installed": the extension already exists in this database;
 * - "preloaded": offered and loaded, so 0001's CREATE EXTENSION can succeed;
 * - "not-preloaded": offered but not in `shared_preload_libraries`, where
 *   CREATE EXTENSION is FATAL (the connection dies, no EXCEPTION block can
 *   catch it), so the runner sets `vakt.timescaledb = 'off'`, which 0001 reads,
 *   and the tables are natively partitioned.
 */
export type TimescaleDbDecision = "off" | "absent" | "installed" | "preloaded" | "not-preloaded";

export interface TimescaleDbProbe {
  forcedOff: boolean;
  available: boolean;
  installed: boolean;
  /** SHOW shared_preload_libraries, or null where the role may not read it. */
  sharedPreloadLibraries: string | null;
  /** timescaledb.disable_load is defined: the loader library is in this backend. */
  loaderPresent: boolean;
  /** version(): PGlite (PostgreSQL in WebAssembly) loads extensions without preloading. */
  serverVersion: string;
}

/** True when a `shared_preload_libraries` value lists timescaledb (bare, quoted, with a path or `.so`). */
export function preloadsTimescaleDb(sharedPreloadLibraries: string): boolean {
  return sharedPreloadLibraries
    .split(",")
    .map((entry) => entry.trim().replace(/^"|"$/g, ""))
    .some((entry) => /(^|\/)timescaledb(\.so)?$/.test(entry));
}

export function decideTimescaleDb(probe: TimescaleDbProbe): TimescaleDbDecision {
  if (probe.forcedOff) return "off";
  if (!probe.available) return "absent";
  if (probe.installed) return "installed";
  const preloaded =
    (probe.sharedPreloadLibraries !== null && preloadsTimescaleDb(probe.sharedPreloadLibraries)) ||
    probe.loaderPresent ||
    /Emscripten/.test(probe.serverVersion);
  return preloaded ? "preloaded" : "not-preloaded";
}

const DECISION_MESSAGES: Record<TimescaleDbDecision, string> = {
  off: "timescaledb: not used (native partitions requested)",
  absent: "timescaledb: not offered by the server; time-series tables are natively partitioned",
  installed: "timescaledb: extension already installed in this database",
  preloaded: "timescaledb: offered and preloaded; the migration creates the extension",
  "not-preloaded":
    "timescaledb: offered but not in shared_preload_libraries, where CREATE EXTENSION is fatal; " +
    "not creating it (vakt.timescaledb = 'off'): time-series tables are natively partitioned. " +
    "Add timescaledb to shared_preload_libraries and restart PostgreSQL before the first migration to use it",
};

export async function probeTimescaleDb(client: ClientBase, forcedOff = false): Promise<TimescaleDbProbe> {
  const { rows } = await client.query<{
    available: boolean;
    installed: boolean;
    loader: boolean;
    version: string;
  }>(
    `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') AS available,
            EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') AS installed,
            current_setting('timescaledb.disable_load', true) IS NOT NULL AS loader,
            version() AS version`,
  );
  const row = rows[0];
  if (!row) throw new Error("timescaledb probe returned no row");
  let sharedPreloadLibraries: string | null = null;
  if (row.available && !row.installed && !forcedOff) {
    // Superusers (and pg_read_all_settings) only; outside a transaction a refused SHOW leaves the session usable.
    try {
      const spl = await client.query<{ shared_preload_libraries: string }>("SHOW shared_preload_libraries");
      sharedPreloadLibraries = spl.rows[0]?.shared_preload_libraries ?? "";
    } catch {
      sharedPreloadLibraries = null;
    }
  }
  return {
    forcedOff,
    available: row.available,
    installed: row.installed,
    sharedPreloadLibraries,
    loaderPresent: row.loader,
    serverVersion: row.version,
  };
}

export async function loadMigrations(dir = migrationsDir): Promise<Migration[]> {
  const names = (await readdir(dir)).filter((n) => /^\d{4}_[a-z0-9_]+\.sql$/.test(n)).sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(`${dir}/${name}`, "utf8");
      return { name, sql, transactional: !sql.startsWith(NO_TRANSACTION_MARKER) };
    }),
  );
}

/**
 * Applies pending migrations in name order on one connection. A session-level
 * advisory lock makes concurrent starters wait, and the applied list is read
 * after the lock is held, so each migration runs exactly once.
 */
export async function migrate(client: ClientBase, options: MigrateOptions = {}): Promise<string[]> {
  const migrations = await loadMigrations();
  let sessionOff = options.withoutTimescaleDb === true;
  await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name text PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const applied = new Set(
      (await client.query<{ name: string }>("SELECT name FROM schema_migrations")).rows.map((r) => r.name),
    );
    if (!applied.has(TIMESCALEDB_MIGRATION) && migrations.some((m) => m.name === TIMESCALEDB_MIGRATION)) {
      const decision = decideTimescaleDb(await probeTimescaleDb(client, options.withoutTimescaleDb === true));
      options.log?.(DECISION_MESSAGES[decision], TIMESCALEDB_MIGRATION);
      options.onTimescaleDbDecision?.(decision);
      if (decision === "not-preloaded") sessionOff = true;
    }
    if (sessionOff) await client.query("SET vakt.timescaledb = 'off'");
    const ran: string[] = [];
    for (const m of migrations) {
      if (applied.has(m.name)) continue;
      options.log?.("applying migration", m.name);
      if (m.transactional) {
        await client.query("BEGIN");
        try {
          await client.query(m.sql);
          await client.query("INSERT INTO schema_migrations (name) VALUES ($1)", [m.name]);
          await client.query("COMMIT");
        } catch (err) {
          await client.query("ROLLBACK");
          throw new MigrationError(m.name, err);
        }
      } else {
        try {
          await client.query(m.sql);
        } catch (err) {
          throw new MigrationError(m.name, err);
        }
        await client.query("INSERT INTO schema_migrations (name) VALUES ($1)", [m.name]);
      }
      ran.push(m.name);
    }
    return ran;
  } finally {
    if (sessionOff) await client.query("RESET vakt.timescaledb").catch(() => {});
    await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]).catch(() => {});
  }
}

export class MigrationError extends Error {
  constructor(
    readonly migration: string,
    cause: unknown,
  ) {
    super(`migration ${migration} failed: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = "MigrationError";
  }
}
