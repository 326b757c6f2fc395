import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addPositions,
  addRecipient,
  addUser,
  createHarness,
  createOrg,
  type Harness,
  loggedIn,
} from "../../test/harness";

const run = promisify(execFile);
let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

describe("activity log", () => {
  it("writes a change and its log row in one transaction: a refused change leaves no row", async () => {
    const org = await createOrg(h);
    const admin = await addUser(h, org, "admin", [{ role: "org_admin", departmentId: null }]);
    const c = await loggedIn(h, admin.email);
    const serial = `DUP-${Date.now()}`;
    expect((await c.post("/api/v1/devices", { departmentId: org.departments.a, serial })).status).toBe(201);
    expect((await c.post("/api/v1/devices", { departmentId: org.departments.b, serial })).status).toBe(409);
    const { rows } = await h.db.pool.query(
      "SELECT count(*)::int AS n FROM activity_log WHERE organisation_id = $1 AND action = 'device.provisioned'",
      [org.organisationId],
    );
    expect(rows[0].n).toBe(1);
  });

  it("cannot be changed or deleted by the application", async () => {
    const org = await createOrg(h);
    const admin = await addUser(h, org, "admin", [{ role: "org_admin", departmentId: null }]);
    await loggedIn(h, admin.email);
    await expect(
      h.db.pool.query("UPDATE activity_log SET action = 'nothing' WHERE organisation_id = $1", [
        org.organisationId,
      ]),
    ).rejects.toThrow(/append-only/);
    await expect(
      h.db.pool.query("DELETE FROM activity_log WHERE organisation_id = $1", [org.organisationId]),
    ).rejects.toThrow(/append-only/);
    const grants = await h.db.pool.query(
      "SELECT privilege_type FROM information_schema.role_table_grants WHERE table_name = 'activity_log' AND grantee = 'PUBLIC'",
    );
    expect(grants.rows.map((r) => r.privilege_type)).not.toContain("UPDATE");
  });

  it("lets auditors query by user, recipient and time, export CSV, and see who looked at a recipient", async () => {
    const org = await createOrg(h);
    const r = await addRecipient(h, org, org.departments.a1);
    const other = await addRecipient(h, org, org.departments.b);
    await addPositions(h, org, r, h.clock.now, 2, 60);
    await addPositions(h, org, other, h.clock.now, 1, 60);
    const op = await addUser(h, org, "op", [{ role: "operator", departmentId: org.departments.a }]);
    const opB = await addUser(h, org, "opB", [{ role: "operator", departmentId: org.departments.b }]);
    const from = new Date(h.clock.now.getTime() - 3_600_000).toISOString();
    const to = new Date(h.clock.now.getTime() + 1000).toISOString();
    await (await loggedIn(h, op.email)).get(
      `/api/v1/positions/recipients/${r.recipientId}/history?from=${from}&to=${to}`,
    );
    await (await loggedIn(h, opB.email)).get("/api/v1/positions/current");
    const aud = await addUser(h, org, "aud", [{ role: "auditor", departmentId: null }]);
    const c = await loggedIn(h, aud.email);

    const byUser = (await c.get(`/api/v1/activity?userId=${op.id}`)).body as { action: string }[];
    expect(byUser.map((e) => e.action).sort()).toEqual(["login.succeeded", "position.history_viewed"]);
    const byRecipient = (await c.get(`/api/v1/activity/recipients/${r.recipientId}`)).body as {
      actorId: string;
    }[];
    expect(byRecipient.map((e) => e.actorId)).toEqual([op.id]);
    expect(
      (await c.get(`/api/v1/activity?recipientId=${other.recipientId}&action=position`)).body,
    ).toHaveLength(1);
    const future = new Date(h.clock.now.getTime() + 3_600_000).toISOString();
    expect((await c.get(`/api/v1/activity?from=${encodeURIComponent(future)}`)).body).toEqual([]);

    const csv = await c.get(`/api/v1/activity/export.csv?userId=${op.id}`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toContain("text/csv");
    const lines = (csv.body as string).trim().split("\r\n");
    expect(lines[0]).toMatch(/^seq,at,actor_type/);
    expect(lines).toHaveLength(3);
    expect(lines.find((l) => l.includes("position.history_viewed"))).toContain(r.recipientId);
    const exported = (await c.get("/api/v1/activity?action=activity.exported")).body as { actorId: string }[];
    expect(exported.map((e) => e.actorId)).toEqual([aud.id]);
  });

  it("shows department auditors only rows about their departments' recipients", async () => {
    const org = await createOrg(h);
    const inA = await addRecipient(h, org, org.departments.a);
    const inB = await addRecipient(h, org, org.departments.b);
    const op = await addUser(h, org, "op", [{ role: "operator", departmentId: null }]);
    await addPositions(h, org, inA, h.clock.now, 1, 60);
    await addPositions(h, org, inB, h.clock.now, 1, 60);
    await (await loggedIn(h, op.email)).get("/api/v1/positions/current");
    const aud = await addUser(h, org, "aud", [{ role: "auditor", departmentId: org.departments.b }]);
    const c = await loggedIn(h, aud.email);
    const rows = (await c.get("/api/v1/activity")).body as {
      action: string;
      recipientIds: string[];
      recipientsWithheld?: number;
    }[];
    expect(rows.map((e) => e.action)).toEqual(["position.current_viewed"]);
    // The row names recipients of A and B: an auditor of B sees that it happened and who of B, not who of A.
    expect(rows[0]?.recipientIds).toEqual([inB.recipientId]);
    expect(rows[0]?.recipientsWithheld).toBe(1);
    const csv = await c.get("/api/v1/activity/export.csv");
    expect(csv.body as string).toContain(inB.recipientId);
    expect(csv.body as string).not.toContain(inA.recipientId);
    expect((await c.get(`/api/v1/activity/recipients/${inA.recipientId}`)).status).toBe(404);
    expect((await c.get(`/api/v1/activity/recipients/${inB.recipientId}`)).status).toBe(200);
    // An auditor of the whole organisation sees the whole row.
    const all = await addUser(h, org, "aud-all", [{ role: "auditor", departmentId: null }]);
    const whole = (
      await (await loggedIn(h, all.email)).get("/api/v1/activity?action=position.current_viewed")
    ).body as { recipientIds: string[]; recipientsWithheld?: number }[];
    expect(new Set(whole[0]?.recipientIds)).toEqual(new Set([inA.recipientId, inB.recipientId]));
    expect(whole[0]?.recipientsWithheld).toBeUndefined();
  });

  it("verifies the hash chain through the API and the CLI, and finds tampering", async () => {
    const org = await createOrg(h);
    const aud = await addUser(h, org, "aud", [{ role: "auditor", departmentId: null }]);
    const c = await loggedIn(h, aud.email);
    await c.get("/api/v1/activity/export.csv");
    const ok = await c.get("/api/v1/activity/verify");
    expect(ok.body).toMatchObject({ ok: true, rows: 2, findings: [], firstProblem: null });
    const cli = ["tsx", "src/cli/verify-log.ts", "--checkpoint", org.organisationId];
    const env = { ...process.env, DATABASE_URL: h.db.url, ...h.activityEnv };
    const good = await run("npx", cli, { env, cwd: new URL("../..", import.meta.url).pathname });
    expect(good.stdout).toContain("wrote 1 checkpoint(s)");
    expect(good.stdout).toContain(
      `ok      ${org.organisationId}: 2 rows (0 legacy), 1 checkpoints, checkpointed to 2`,
    );
    // The route reads the same checkpoint file.
    expect((await c.get("/api/v1/activity/verify")).body).toMatchObject({ ok: true, checkpoints: 1 });

    // Someone with the database owner's rights edits a row behind the application's back.
    await h.db.pool.query("ALTER TABLE activity_log DISABLE TRIGGER activity_log_append_only");
    await h.db.pool.query(
      "UPDATE activity_log SET reason = 'edited' WHERE organisation_id = $1 AND seq = 1",
      [org.organisationId],
    );
    await h.db.pool.query("ALTER TABLE activity_log ENABLE TRIGGER activity_log_append_only");
    const bad = await c.get("/api/v1/activity/verify");
    expect(bad.body).toMatchObject({
      ok: false,
      findings: [{ seq: 1, kind: "changed row" }],
      firstProblem: { seq: 1, problem: "changed row" },
    });
    const failed = await run("npx", cli, { env, cwd: new URL("../..", import.meta.url).pathname }).catch(
      (e) => e,
    );
    expect(failed.code, JSON.stringify(failed.stdout ?? failed)).toBe(1);
    expect(failed.stdout).toContain("BROKEN");
    expect(failed.stdout).toContain("seq 1: changed row");
    // Without the keys the CLI refuses to run rather than pass.
    const { ACTIVITY_LOG_KEYS: _, ...noKeys } = env;
    const refused = await run("npx", ["tsx", "src/cli/verify-log.ts"], {
      env: noKeys,
      cwd: new URL("../..", import.meta.url).pathname,
    }).catch((e) => e);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("ACTIVITY_LOG_KEYS");
  });
});
