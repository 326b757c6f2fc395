/**
 * ops/backup/backup.sh and restore.sh against a real PostgreSQL: back up a
 * migrated database with data, restore into a new one, compare row counts of
 * every table and verify the activity log; and pruning by age with fake dates.
 *
 * Runs against BACKUP_TEST_DATABASE_URL, else TEST_DATABASE_URL, else the
 * machine's PostgreSQL at 127.0.0.1:5432 (pg_dump must be at least the server's
 * major version, so the embedded PostgreSQL 18 of the test run is not used).
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { createTestDatabase, type TestDatabase } from "@vakt/storage/testing";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyActivityLog } from "../activity/reader";

const run = promisify(execFile);
const scripts = resolve(import.meta.dirname, "../../../ops/backup");
const serverUrl =
  process.env.BACKUP_TEST_DATABASE_URL ??
  process.env.TEST_DATABASE_URL ??
  "postgres://postgres@127.0.0.1:5432/postgres";

let db: TestDatabase;
let dir: string;
let orgId: string;
beforeAll(async () => {
  db = await createTestDatabase({ serverUrl });
  dir = await mkdtemp(join(tmpdir(), "vakt-backup-"));
  const q = db.pool;
  const org = await q.query<{ id: string }>(
    "INSERT INTO organisations (name, slug) VALUES ('Backup', $1) RETURNING id",
    [`b-${randomBytes(4).toString("hex")}`],
  );
  orgId = org.rows[0]?.id as string;
  const dept = await q.query<{ id: string }>(
    `WITH f AS (SELECT gen_random_uuid() AS id)
     INSERT INTO departments (id, organisation_id, name, ancestry) SELECT f.id, $1, 'D', ARRAY[f.id] FROM f RETURNING id`,
    [orgId],
  );
  const r = await q.query<{ id: string }>(
    `INSERT INTO recipients (organisation_id, department_id, first_name, last_name, legal_basis)
     VALUES ($1, $2, 'A', 'B', 'consent') RETURNING id`,
    [orgId, dept.rows[0]?.id],
  );
  const d = await q.query<{ id: string }>(
    "INSERT INTO devices (organisation_id, department_id, serial, recipient_id) VALUES ($1, $2, $3, $4) RETURNING id",
    [orgId, dept.rows[0]?.id, `BK-${randomBytes(4).toString("hex")}`, r.rows[0]?.id],
  );
  await q.query(
    `INSERT INTO positions (time, device_id, organisation_id, recipient_id, message_id, lat, lon)
     SELECT now() - make_interval(mins => i), $1, $2, $3, 'm' || i, 59.9, 10.7 FROM generate_series(1, 50) i`,
    [d.rows[0]?.id, orgId, r.rows[0]?.id],
  );
  await q.query(
    `INSERT INTO activity_log (organisation_id, seq, actor_type, action, recipient_ids, prev_hash, hash)
     SELECT $1, 0, 'system', 'backup.test', ARRAY[$2::uuid], '\\x', '\\x' FROM generate_series(1, 5)`,
    [orgId, r.rows[0]?.id],
  );
});
afterAll(async () => {
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function rowCounts(url: string): Promise<Record<string, number>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const tables = await c.query<{ name: string }>(
      // Parents of partitioned tables count their partitions' rows; the partitions are left out.
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1`,
    );
    const out: Record<string, number> = {};
    for (const { name } of tables.rows) {
      const r = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${name}"`);
      out[name] = r.rows[0]?.n ?? 0;
    }
    return out;
  } finally {
    await c.end();
  }
}

describe("backup and restore scripts", () => {
  it("back up, restore into a new database, and find the same rows and a verifying log", async () => {
    const out = await run(join(scripts, "backup.sh"), [db.url], { env: { ...process.env, BACKUP_DIR: dir } });
    expect(out.stdout).toMatch(/backup: .*vakt-\d{8}T\d{6}Z\.dump/);
    const archives = (await readdir(dir)).filter((f) => f.endsWith(".dump"));
    expect(archives).toHaveLength(1);

    const target = await createTestDatabase({ serverUrl, applyMigrations: false });
    try {
      await run(join(scripts, "restore.sh"), [join(dir, archives[0] as string), target.url]);
      const before = await rowCounts(db.url);
      const after = await rowCounts(target.url);
      expect(before.positions).toBe(50);
      expect(before.activity_log).toBe(5);
      expect(after).toEqual(before);
      expect(await verifyActivityLog(target.pool, orgId)).toMatchObject({ ok: true, rows: 5 });
      // The restored log is still append-only.
      await expect(target.pool.query("DELETE FROM activity_log")).rejects.toThrow(/append-only/);
      // Restoring over a database that is not empty is refused.
      await expect(
        run(join(scripts, "restore.sh"), [join(dir, archives[0] as string), target.url]),
      ).rejects.toThrow(/not empty/);
    } finally {
      await target.drop();
    }
  });

  it("prunes archives older than the backup retention (4 months by default) and nothing else", async () => {
    const pruneDir = await mkdtemp(join(tmpdir(), "vakt-prune-"));
    try {
      const day = 86_400_000;
      const aged = async (name: string, days: number) => {
        const p = join(pruneDir, name);
        await writeFile(p, "x");
        const t = new Date(Date.now() - days * day);
        await utimes(p, t, t);
      };
      await aged("vakt-20250101T000000Z.dump", 124);
      await aged("vakt-20250101T000000Z.dump.sha256", 124);
      await aged("vakt-20250201T000000Z.dump", 121);
      await aged("other-file.dump", 400);
      const out = await run(join(scripts, "backup.sh"), [db.url], {
        env: { ...process.env, BACKUP_DIR: pruneDir },
      });
      expect(out.stdout).toContain("pruned: ");
      const left = (await readdir(pruneDir)).sort();
      expect(left).not.toContain("vakt-20250101T000000Z.dump");
      expect(left).not.toContain("vakt-20250101T000000Z.dump.sha256");
      expect(left).toContain("vakt-20250201T000000Z.dump");
      expect(left).toContain("other-file.dump");
      expect(left.filter((f) => /^vakt-\d{8}T\d{6}Z\.dump$/.test(f))).toHaveLength(2);

      // A shorter retention, as an operator may set it.
      await run(join(scripts, "backup.sh"), [db.url], {
        env: { ...process.env, BACKUP_DIR: pruneDir, BACKUP_RETENTION_DAYS: "30" },
      });
      expect(await readdir(pruneDir)).not.toContain("vakt-20250201T000000Z.dump");
    } finally {
      await rm(pruneDir, { recursive: true, force: true });
    }
  });
});
