import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { ClientBase } from "pg";

export const migrationsDir = fileURLToPath(new URL("../migrations/", import.meta.url));

/** Any constant works; it only has to be the same in every Vakt process. */
const MIGRATION_LOCK_KEY = 0x7661_6b74; // "vakt"

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
  await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name text PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    if (options.withoutTimescaleDb) await client.query("SET vakt.timescaledb = 'off'");
    const applied = new Set(
      (await client.query<{ name: string }>("SELECT name FROM schema_migrations")).rows.map((r) => r.name),
    );
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
    if (options.withoutTimescaleDb) await client.query("RESET vakt.timescaledb").catch(() => {});
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
