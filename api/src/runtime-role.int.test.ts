/**
 * Issue 15, item 6: the processes connect as a runtime role that is neither
 * superuser nor owner. It may append to the activity log and nothing else
 * there, while the application's own paths still work through it.
 */
import { randomBytes } from "node:crypto";
import { ensureRuntimeRole } from "@vakt/storage";
import { createRuntimeLogin, type RuntimeLogin } from "@vakt/storage/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addPositions,
  addRecipient,
  addUser,
  createHarness,
  createOrg,
  type Harness,
  loggedIn,
} from "../test/harness";
import { verifyActivityLog } from "./activity/reader";
import { runGraphileMigrations } from "./alerting";
import { createApp } from "./app";

let h: Harness;
let rt: RuntimeLogin;
beforeAll(async () => {
  h = await createHarness();
  // As the production migrate step: graphile-worker's schema by the owner, then the grants.
  await runGraphileMigrations(h.db.pool, h.deps.logger);
  rt = await createRuntimeLogin(h.db);
});
afterAll(async () => {
  await rt?.drop();
  await h?.close();
});

describe("runtime database role", () => {
  it("is not superuser, owns no table and is a member of vakt_app", async () => {
    const { rows } = await rt.pool.query<{ rolsuper: boolean; owns: number; member: boolean }>(
      `SELECT r.rolsuper,
              (SELECT count(*)::int FROM pg_tables WHERE tableowner = current_user) AS owns,
              pg_has_role(current_user, 'vakt_app', 'MEMBER') AS member
         FROM pg_roles r WHERE r.rolname = current_user`,
    );
    expect(rows[0]).toEqual({ rolsuper: false, owns: 0, member: true });
  });

  it("is refused by ensureRuntimeRole when it would be a superuser, and skipped when it is the owner", async () => {
    const u = new URL(h.db.url);
    expect(await ensureRuntimeRole(h.db.pool, u.toString())).toMatchObject({
      skipped: "the runtime role is the migrating owner",
    });
    const su = `vakt_su_${randomBytes(5).toString("hex")}`;
    await h.db.pool.query(`CREATE ROLE ${su} SUPERUSER`);
    try {
      u.username = su;
      await expect(ensureRuntimeRole(h.db.pool, u.toString())).rejects.toThrow(/is a superuser/);
    } finally {
      await h.db.pool.query(`DROP ROLE ${su}`);
    }
  });

  it("cannot disable the trigger, UPDATE, DELETE, TRUNCATE or ALTER the activity log, or switch triggers off", async () => {
    const org = await createOrg(h);
    await rt.pool.query(
      `INSERT INTO activity_log (organisation_id, seq, actor_type, action, prev_hash, hash)
       VALUES ($1, 0, 'system', 'runtime.insert', '\\x', '\\x')`,
      [org.organisationId],
    );
    const refused = [
      "ALTER TABLE activity_log DISABLE TRIGGER activity_log_append_only",
      "ALTER TABLE activity_log DISABLE TRIGGER ALL",
      "ALTER TABLE activity_log ADD COLUMN sneaky int",
      "DROP TRIGGER activity_log_append_only ON activity_log",
      `UPDATE activity_log SET action = 'edited' WHERE organisation_id = '${org.organisationId}'`,
      `DELETE FROM activity_log WHERE organisation_id = '${org.organisationId}'`,
      "TRUNCATE activity_log",
      `INSERT INTO activity_log_anchors (organisation_id, upto_seq, upto_hash, upto_at, pruned_rows)
       VALUES ('${org.organisationId}', 1, '\\x', now(), 1)`,
      "SET session_replication_role = replica",
      "CREATE TABLE sneaky (x int)",
    ];
    for (const sql of refused) {
      await expect(rt.pool.query(sql), sql).rejects.toThrow(/permission denied|must be owner/);
    }
    const { rows } = await h.db.pool.query("SELECT action FROM activity_log WHERE organisation_id = $1", [
      org.organisationId,
    ]);
    expect(rows).toEqual([{ action: "runtime.insert" }]);
  });

  it("runs the application's paths: login, position views and their keyed log rows, retention pruning, job queue", async () => {
    const app = createApp({ ...h.deps, pool: rt.pool });
    const rh = { ...h, app, deps: { ...h.deps, pool: rt.pool } };
    const org = await createOrg(h);
    const r = await addRecipient(h, org, org.departments.a);
    await addPositions(h, org, r, h.clock.now, 2, 60);
    const op = await addUser(h, org, "op", [{ role: "operator", departmentId: null }]);
    const c = await loggedIn(rh, op.email);
    expect((await c.get("/api/v1/positions/current")).status).toBe(200);
    const { rows } = await rt.pool.query<{ action: string; key_id: string }>(
      "SELECT action, key_id FROM activity_log WHERE organisation_id = $1 ORDER BY seq",
      [org.organisationId],
    );
    expect(rows.map((x) => x.action)).toEqual(["login.succeeded", "position.current_viewed"]);
    expect(rows.every((x) => x.key_id === "test1")).toBe(true);
    expect(await verifyActivityLog(rt.pool, org.organisationId, h.activityLog, h.clock.now)).toMatchObject({
      ok: true,
      rows: 2,
    });
    // Retention's one way to remove rows (SECURITY DEFINER) stays open to it, bounded by the
    // database's clock: "as of a century from now" removed every row but the newest.
    await expect(
      rt.pool.query("SELECT vakt_activity_log_prune($1, now())", [org.organisationId]),
    ).resolves.toBeDefined();
    const future = await rt.pool.query<{ n: string }>(
      "SELECT vakt_activity_log_prune($1, now() + interval '100 years') AS n",
      [org.organisationId],
    );
    expect(Number(future.rows[0]?.n)).toBe(0);
    expect(await verifyActivityLog(rt.pool, org.organisationId, h.activityLog, h.clock.now)).toMatchObject({
      ok: true,
      rows: 2,
    });
    // graphile-worker's queue, installed by the owner.
    await rt.pool.query("SELECT graphile_worker.add_job('noop', '{}'::json)");
    // LISTEN/NOTIFY and temporary tables.
    await rt.pool.query("NOTIFY vakt_test, 'x'");
    await rt.pool.query("CREATE TEMP TABLE t_scratch (x int); DROP TABLE t_scratch");
  });
});
