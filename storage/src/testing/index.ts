/**
 * Databases for tests: a fresh, migrated database per suite on whichever
 * PostgreSQL the run uses, and TimescaleDB embedded in PGlite for the
 * TimescaleDB path. Imported as `@vakt/storage/testing`; never by production code.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { type MigrateOptions, migrate } from "../migrate";
import { createPool } from "../pool";
import { ensureRuntimeRole } from "../roles";

export { startEmbeddedPostgres } from "../embedded";
export { type RunningTimescaleDb, startTimescaleDbServer } from "./timescaledb";

export interface TestDatabase {
  url: string;
  pool: pg.Pool;
  drop(): Promise<void>;
}

/** Admin URL of the server the run uses: TEST_DATABASE_URL, or the embedded one the global setup started. */
export function testServerUrl(): string {
  const url = process.env.TEST_DATABASE_URL ?? process.env.VAKT_EMBEDDED_TEST_DATABASE_URL;
  if (!url) throw new Error("no test database: set TEST_DATABASE_URL or use the storage global setup");
  return url;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Creates a database with a random name, applies the migrations, and returns a pool on it. */
export async function createTestDatabase(
  options: MigrateOptions & { serverUrl?: string; poolMax?: number; applyMigrations?: boolean } = {},
): Promise<TestDatabase> {
  const adminUrl = options.serverUrl ?? testServerUrl();
  const name = `vakt_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(adminUrl, name);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    if (options.applyMigrations !== false) await migrate(client, options);
  } finally {
    await client.end();
  }
  const pool = createPool(url, { max: options.poolMax ?? 5, applicationName: "vakt-test" });
  return {
    url,
    pool,
    async drop() {
      await pool.end();
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        // A pool's end() resolves while its connections are still closing; FORCE would answer one of
        // them with a FATAL that its client, already let go by the pool, throws as uncaught. So wait
        // for the sessions to go (a leaked one is still forced after 3 s).
        for (let waited = 0; waited < 3_000; waited += 20) {
          const { rows } = await c.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1",
            [name],
          );
          if ((rows[0]?.n ?? 0) === 0) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/**
 * For a vitest globalSetup: starts an embedded PostgreSQL unless
 * TEST_DATABASE_URL names a real server, and returns the teardown.
 */
export async function setupTestServer(): Promise<() => Promise<void>> {
  if (process.env.TEST_DATABASE_URL) return async () => {};
  const dir = await mkdtemp(join(tmpdir(), "vakt-pg-"));
  const { startEmbeddedPostgres } = await import("../embedded");
  const server = await startEmbeddedPostgres({ dataDir: dir, persistent: false });
  process.env.VAKT_EMBEDDED_TEST_DATABASE_URL = server.url;
  return async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  };
}

export interface RuntimeLogin {
  role: string;
  url: string;
  pool: pg.Pool;
  drop(): Promise<void>;
}

/**
 * A login role made the way production makes the runtime role
 * (ensureRuntimeRole: a member of vakt_app, not superuser, owning nothing),
 * named uniquely because roles are cluster-wide. `drop` removes it.
 */
export async function createRuntimeLogin(db: TestDatabase, poolMax = 4): Promise<RuntimeLogin> {
  const role = `vakt_rt_${randomBytes(6).toString("hex")}`;
  const password = randomBytes(12).toString("hex");
  const u = new URL(db.url);
  u.username = role;
  u.password = password;
  const url = u.toString();
  await ensureRuntimeRole(db.pool, url);
  const pool = createPool(url, { max: poolMax, applicationName: "vakt-test-runtime" });
  return {
    role,
    url,
    pool,
    async drop() {
      await pool.end();
      // Its temporary tables may outlive the closed sessions for a moment; they would block DROP ROLE.
      await db.pool.query(`DROP OWNED BY ${role}`);
      await db.pool.query(`DROP ROLE IF EXISTS ${role}`);
    },
  };
}
