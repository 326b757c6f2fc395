import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { detectCapabilities, timeBucketSql } from "./capabilities";
import { loadMigrations, migrate } from "./migrate";
import { maintainTimeseries } from "./partitions";
import { createTestDatabase, startTimescaleDbServer, type TestDatabase } from "./testing/index";

/**
 * The storage suite runs once per engine: the run's PostgreSQL (the machine's
 * PostgreSQL 15 via TEST_DATABASE_URL, or the embedded PostgreSQL 18) with
 * TimescaleDB used when offered, the same server forced onto native
 * partitioning, and TimescaleDB embedded in PGlite.
 */
interface Engine {
  name: string;
  expectTimescale: boolean | "if-available";
  /** PGlite serves one connection at a time. */
  singleConnection: boolean;
  open(): Promise<{ url: string; pool: pg.Pool; close(): Promise<void> }>;
}

function fromTestDatabase(db: TestDatabase) {
  return { url: db.url, pool: db.pool, close: () => db.drop() };
}

const engines: Engine[] = [
  {
    name: "postgres",
    expectTimescale: "if-available",
    singleConnection: false,
    open: async () => fromTestDatabase(await createTestDatabase()),
  },
  {
    name: "postgres, native partitions",
    expectTimescale: false,
    singleConnection: false,
    open: async () => fromTestDatabase(await createTestDatabase({ withoutTimescaleDb: true })),
  },
  {
    name: "timescaledb (pglite)",
    expectTimescale: true,
    singleConnection: true,
    open: async () => {
      const server = await startTimescaleDbServer();
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      await migrate(client);
      await client.end();
      const pool = new pg.Pool({ connectionString: server.url, max: 1 });
      return {
        url: server.url,
        pool,
        close: async () => {
          await pool.end();
          await server.stop();
        },
      };
    },
  },
];

async function makeOrganisation(db: pg.Pool, slug: string) {
  const org = await db.query<{ id: string }>(
    "INSERT INTO organisations (name, slug) VALUES ($1, $1) RETURNING id",
    [slug],
  );
  const orgId = org.rows[0]?.id as string;
  const dept = await db.query<{ id: string }>(
    `INSERT INTO departments (id, organisation_id, name, ancestry)
     SELECT g, $1, 'Home care', ARRAY[g] FROM gen_random_uuid() g RETURNING id`,
    [orgId],
  );
  const deptId = dept.rows[0]?.id as string;
  const device = await db.query<{ id: string }>(
    "INSERT INTO devices (organisation_id, department_id, serial) VALUES ($1, $2, $3) RETURNING id",
    [orgId, deptId, `SN-${slug}`],
  );
  return { orgId, deptId, deviceId: device.rows[0]?.id as string };
}

for (const engine of engines) {
  describe(`storage on ${engine.name}`, () => {
    let db: Awaited<ReturnType<Engine["open"]>>;
    beforeAll(async () => {
      db = await engine.open();
    });
    afterAll(async () => {
      await db?.close();
    });

    it("records every migration once and applies none on a second run", async () => {
      const client = await db.pool.connect();
      try {
        const applied = await client.query("SELECT name FROM schema_migrations ORDER BY name");
        expect(applied.rows.length).toBeGreaterThanOrEqual(4);
        expect(await migrate(client)).toEqual([]);
      } finally {
        client.release();
      }
    });

    it("creates time-series tables on the engine it detects", async () => {
      const caps = await detectCapabilities(db.pool);
      if (engine.expectTimescale !== "if-available") expect(caps.timescaledb).toBe(engine.expectTimescale);
      const { rows } = await db.pool.query<{ table_name: string; engine: string }>(
        "SELECT table_name, engine FROM timeseries_tables ORDER BY table_name",
      );
      expect(rows.map((r) => r.table_name)).toEqual(["device_messages", "device_status", "positions"]);
      for (const r of rows) expect(r.engine).toBe(caps.timescaledb ? "timescaledb" : "partitioned");
      if (caps.timescaledb) {
        const ht = await db.pool.query("SELECT hypertable_name FROM timescaledb_information.hypertables");
        expect(ht.rows.map((r) => r.hypertable_name).sort()).toEqual([
          "device_messages",
          "device_status",
          "positions",
        ]);
        const jobs = await db.pool.query<{ proc_name: string; hypertable_name: string }>(
          "SELECT proc_name, hypertable_name FROM timescaledb_information.jobs WHERE hypertable_name = 'positions'",
        );
        expect(jobs.rows.map((j) => j.proc_name).sort()).toEqual(["policy_compression", "policy_retention"]);
      } else {
        const parts = await db.pool.query(
          `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'positions'::regclass`,
        );
        expect(parts.rows.length).toBeGreaterThanOrEqual(8);
      }
    });

    it("stores a redelivered position once", async () => {
      const { orgId, deviceId } = await makeOrganisation(db.pool, "redelivery");
      const insert = `INSERT INTO positions (time, device_id, organisation_id, message_id, lat, lon)
                      VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`;
      const t = new Date();
      const first = await db.pool.query(insert, [t, deviceId, orgId, "m-1", 59.91, 10.75]);
      const again = await db.pool.query(insert, [t, deviceId, orgId, "m-1", 59.91, 10.75]);
      expect(first.rowCount).toBe(1);
      expect(again.rowCount).toBe(0);
      await expect(db.pool.query(insert, [t, deviceId, orgId, "m-2", 91, 10])).rejects.toThrow(/check/);
    });

    it("buckets history the same way with time_bucket or date_bin", async () => {
      const { orgId, deviceId } = await makeOrganisation(db.pool, "buckets");
      const base = Date.UTC(2026, 10, 20, 12, 0, 0);
      for (let i = 0; i < 30; i++) {
        await db.pool.query(
          `INSERT INTO positions (time, device_id, organisation_id, message_id, lat, lon)
           VALUES ($1, $2, $3, $4, $5, 10)`,
          [new Date(base + i * 10_000), deviceId, orgId, `b-${i}`, 59 + i / 1000],
        );
      }
      const caps = await detectCapabilities(db.pool);
      const { rows } = await db.pool.query<{ bucket: Date; n: string; lat: number }>(
        `SELECT ${timeBucketSql(caps, 1)} AS bucket, count(*) AS n, avg(lat) AS lat
           FROM positions WHERE device_id = $2 GROUP BY 1 ORDER BY 1`,
        ["1 minute", deviceId],
      );
      expect(rows.map((r) => [r.bucket.toISOString(), Number(r.n)])).toEqual([
        ["2026-11-20T12:00:00.000Z", 6],
        ["2026-11-20T12:01:00.000Z", 6],
        ["2026-11-20T12:02:00.000Z", 6],
        ["2026-11-20T12:03:00.000Z", 6],
        ["2026-11-20T12:04:00.000Z", 6],
      ]);
      expect(rows[0]?.lat).toBeCloseTo(59.0025, 6);
    });

    it("refuses a row that points into another organisation", async () => {
      const a = await makeOrganisation(db.pool, "tenant-a");
      const b = await makeOrganisation(db.pool, "tenant-b");
      await expect(
        db.pool.query(
          "INSERT INTO recipients (organisation_id, department_id, first_name, last_name, legal_basis) VALUES ($1, $2, 'Kari', 'Nordmann', 'consent')",
          [a.orgId, b.deptId],
        ),
      ).rejects.toThrow(/foreign key/);
    });

    it("makes one alarm of a redelivered device alarm", async () => {
      const { orgId, deptId, deviceId } = await makeOrganisation(db.pool, "alarm-dedupe");
      const insert = `INSERT INTO alarms (organisation_id, department_id, device_id, type, severity, source, device_message_id, raised_at)
                      VALUES ($1, $2, $3, 'sos', 'critical', 'device', 'a-1', now()) ON CONFLICT DO NOTHING RETURNING id`;
      expect((await db.pool.query(insert, [orgId, deptId, deviceId])).rowCount).toBe(1);
      expect((await db.pool.query(insert, [orgId, deptId, deviceId])).rowCount).toBe(0);
    });

    describe("activity log", () => {
      const append = (orgId: string, action: string, details: object = {}) =>
        db.pool.query(
          `INSERT INTO activity_log (organisation_id, actor_type, action, details) VALUES ($1, 'system', $2, $3)
           RETURNING seq`,
          [orgId, action, JSON.stringify(details)],
        );
      const verify = async (orgId: string) =>
        (
          await db.pool.query<{ seq: string; problem: string }>(
            "SELECT * FROM vakt_activity_log_verify($1)",
            [orgId],
          )
        ).rows;

      it("chains rows per organisation and verifies", async () => {
        const { orgId } = await makeOrganisation(db.pool, "log-chain");
        const other = await makeOrganisation(db.pool, "log-other");
        for (let i = 0; i < 5; i++) await append(orgId, "position.viewed", { i });
        await append(other.orgId, "login.succeeded");
        const seqs = await db.pool.query(
          "SELECT seq FROM activity_log WHERE organisation_id = $1 ORDER BY seq",
          [orgId],
        );
        expect(seqs.rows.map((r) => Number(r.seq))).toEqual([1, 2, 3, 4, 5]);
        expect(await verify(orgId)).toEqual([]);
        expect(await verify(other.orgId)).toEqual([]);
      });

      it("refuses updates, deletes and truncation", async () => {
        const { orgId } = await makeOrganisation(db.pool, "log-append-only");
        await append(orgId, "alarm.opened");
        await expect(
          db.pool.query("UPDATE activity_log SET action = 'x' WHERE organisation_id = $1", [orgId]),
        ).rejects.toThrow(/append-only/);
        await expect(
          db.pool.query("DELETE FROM activity_log WHERE organisation_id = $1", [orgId]),
        ).rejects.toThrow(/append-only/);
        await expect(db.pool.query("TRUNCATE activity_log")).rejects.toThrow(/append-only/);
      });

      it("finds a row changed or removed behind the application's back", async () => {
        const { orgId } = await makeOrganisation(db.pool, "log-tamper");
        for (let i = 0; i < 4; i++) await append(orgId, "recipient.viewed", { i });
        // Someone with owner rights switches the guard off, edits, and switches it on again.
        await db.pool.query("ALTER TABLE activity_log DISABLE TRIGGER activity_log_append_only");
        await db.pool.query(
          `UPDATE activity_log SET details = '{"i": 99}' WHERE organisation_id = $1 AND seq = 2`,
          [orgId],
        );
        expect(await verify(orgId)).toEqual([{ seq: "2", problem: "row content changed" }]);
        await db.pool.query("DELETE FROM activity_log WHERE organisation_id = $1 AND seq IN (2, 3)", [orgId]);
        await db.pool.query("ALTER TABLE activity_log ENABLE TRIGGER activity_log_append_only");
        expect(await verify(orgId)).toEqual([{ seq: "2", problem: "missing row" }]);
      });
    });

    it("keeps partitions ready and drops expired ones (native partitions) or leaves it to policies", async () => {
      const caps = await detectCapabilities(db.pool);
      const { orgId, deviceId } = await makeOrganisation(db.pool, "retention");
      const now = new Date();
      const day = 86_400_000;
      const recent = new Date(now.getTime() - 5 * day);
      const expired = new Date(now.getTime() - 400 * day - 3 * day);
      if (!caps.timescaledb) {
        await db.pool.query("SELECT vakt_ensure_partitions('positions', $1, $1)", [expired]);
      }
      for (const [t, id] of [
        [recent, "keep"],
        [expired, "expire"],
      ] as const) {
        await db.pool.query(
          "INSERT INTO positions (time, device_id, organisation_id, message_id, lat, lon) VALUES ($1, $2, $3, $4, 60, 10)",
          [t, deviceId, orgId, id],
        );
      }
      const first = await maintainTimeseries(db.pool, now);
      const second = await maintainTimeseries(db.pool, now);
      const left = await db.pool.query(
        "SELECT message_id FROM positions WHERE device_id = $1 ORDER BY time",
        [deviceId],
      );
      if (caps.timescaledbPolicies) {
        // Retention belongs to TimescaleDB's own job here; the function must not touch data.
        expect(first.dropped).toEqual([]);
        expect(left.rows.map((r) => r.message_id)).toEqual(["expire", "keep"]);
      } else {
        expect(first.dropped.some((p) => p.startsWith("positions_p"))).toBe(true);
        expect(left.rows.map((r) => r.message_id)).toEqual(["keep"]);
      }
      expect(second.created).toBe(0);
      expect(second.dropped).toEqual([]);
    });

    if (!engine.singleConnection) {
      it("applies migrations once when two processes start together", async () => {
        const empty = await createTestDatabase({ applyMigrations: false });
        const a = new pg.Client({ connectionString: empty.url });
        const b = new pg.Client({ connectionString: empty.url });
        await Promise.all([a.connect(), b.connect()]);
        try {
          const [ranA, ranB] = await Promise.all([migrate(a), migrate(b)]);
          const all = (await loadMigrations()).map((m) => m.name);
          expect([...ranA, ...ranB].sort()).toEqual(all);
          expect(ranA.length === 0 || ranB.length === 0).toBe(true);
        } finally {
          await Promise.all([a.end(), b.end()]);
          await empty.drop();
        }
      });
    }
  });
}

/**
 * Migration 0001 asks for TimescaleDB wherever the server offers it; where the
 * extension is offered but not preloaded (the machine's plain PostgreSQL 15
 * after shared/timescaledb/install.sh) CREATE EXTENSION would be FATAL, so the
 * runner must decide before 0001 runs. CI names the state it set up in
 * TEST_TIMESCALEDB_EXPECT, so a run on the wrong server cannot pass unnoticed.
 */
describe("the migration runner's TimescaleDB decision on the run's server", () => {
  it("reads shared_preload_libraries, logs the decision and migrates on the engine it chose", async () => {
    const empty = await createTestDatabase({ applyMigrations: false });
    const client = new pg.Client({ connectionString: empty.url });
    await client.connect();
    try {
      const facts = await client.query<{ available: boolean; spl: string }>(
        `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') AS available,
                current_setting('shared_preload_libraries') AS spl`,
      );
      const { available, spl } = facts.rows[0] as { available: boolean; spl: string };
      const expected = !available ? "absent" : /timescaledb/.test(spl) ? "preloaded" : "not-preloaded";
      if (process.env.TEST_TIMESCALEDB_EXPECT) expect(expected).toBe(process.env.TEST_TIMESCALEDB_EXPECT);

      const logged: string[] = [];
      const decisions: string[] = [];
      const ran = await migrate(client, {
        log: (message, migration) => logged.push(`${migration}: ${message}`),
        onTimescaleDbDecision: (d) => decisions.push(d),
      });
      expect(decisions).toEqual([expected]);
      expect(logged[0]).toMatch(/^0001_timeseries_support\.sql: timescaledb: /);
      if (expected === "not-preloaded") expect(logged[0]).toContain("shared_preload_libraries");
      expect(ran).toEqual((await loadMigrations()).map((m) => m.name));

      // The connection survived 0001, and the tables sit on the engine decided.
      const engines = await client.query<{ engine: string }>("SELECT DISTINCT engine FROM timeseries_tables");
      expect(engines.rows.map((r) => r.engine)).toEqual([
        expected === "preloaded" ? "timescaledb" : "partitioned",
      ]);
      // The session variable was only for the migration.
      const after = await client.query<{ v: string | null }>(
        "SELECT current_setting('vakt.timescaledb', true) AS v",
      );
      expect(after.rows[0]?.v ?? "").toBe("");
      // A second run has nothing to decide.
      expect(await migrate(client, { onTimescaleDbDecision: (d) => decisions.push(d) })).toEqual([]);
      expect(decisions).toEqual([expected]);
    } finally {
      await client.end();
      await empty.drop();
    }
  });
});
