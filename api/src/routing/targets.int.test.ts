/**
 * Routing targets who can act (issue 16 item 6): a rule's step may name only
 * users and roles who can see and take its alarms (alarm:read and
 * alarm:acknowledge on the rule's department, per policy.ts), checked when the
 * rule is saved; a named user who has lost the grant since is skipped at send
 * time, and the skip is recorded in the alarm's timeline.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { RoleKey } from "@vakt/schemas";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addRecipient,
  addUser,
  createHarness,
  createOrg,
  type Harness,
  loggedIn,
  type TestOrg,
  until,
} from "../../test/harness";
import { reach } from "../policy";
import { startApiServer } from "../server";

let h: Harness;
let org: TestOrg;
let admin: Awaited<ReturnType<typeof loggedIn>>;

beforeAll(async () => {
  h = await createHarness();
  h.clock.now = new Date();
  org = await createOrg(h);
  admin = await loggedIn(
    h,
    (await addUser(h, org, "rtadmin", [{ role: "org_admin", departmentId: null }])).email,
  );
}, 30_000);
afterAll(async () => {
  await h.close();
});

const rule = (departmentId: string, step: Record<string, unknown>) =>
  admin.post("/api/v1/alert-rules", {
    departmentId,
    name: `targets-${randomBytes(3).toString("hex")}`,
    alarmTypes: ["other"],
    steps: [{ waitS: 60, channels: ["console"], ...step }],
  });

const ROLES: RoleKey[] = ["org_admin", "dept_admin", "operator", "locator", "auditor"];

describe("routing targets who can act", () => {
  it("refuses a department administrator without alarm:read, a user of another department, and roles that cannot act", async () => {
    const deptAdmin = await addUser(h, org, "Dagny", [
      { role: "dept_admin", departmentId: org.departments.b },
    ]);
    const otherOp = await addUser(h, org, "Anders", [{ role: "operator", departmentId: org.departments.a }]);
    const subOp = await addUser(h, org, "Sub", [{ role: "operator", departmentId: org.departments.b1 }]);
    const op = await addUser(h, org, "Berit", [{ role: "operator", departmentId: org.departments.b }]);
    for (const [who, id] of [
      ["Dagny", deptAdmin.id],
      ["Anders", otherOp.id],
      // Operator of a sub-department only: the rule covers all of B.
      ["Sub", subOp.id],
    ] as const) {
      const r = await rule(org.departments.b, { users: [id] });
      expect(r.status).toBe(400);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
      expect(r.body.detail).toContain(who);
      expect(r.body.detail).toContain(id);
    }
    for (const role of ["dept_admin", "locator", "auditor"]) {
      const r = await rule(org.departments.b, { roles: [role] });
      expect(r.status).toBe(400);
      expect(r.body.detail).toContain(role);
    }
    expect((await rule(org.departments.b, { users: [op.id], roles: ["operator"] })).status).toBe(201);
    expect((await rule(org.departments.b1, { users: [subOp.id, op.id] })).status).toBe(201);
    // A change that names someone who cannot act is refused too.
    const saved = await rule(org.departments.b, { users: [op.id] });
    const patched = await admin.patch(`/api/v1/alert-rules/${saved.body.id}`, {
      steps: [{ waitS: 60, channels: ["console"], users: [deptAdmin.id] }],
    });
    expect(patched.status).toBe(400);
    expect(patched.body.detail).toContain("Dagny");
  });

  it("over generated grants, a user may be named exactly when policy gives them alarm:read and alarm:acknowledge on the rule's department", async () => {
    const depts = [org.departments.a, org.departments.a1, org.departments.b, org.departments.b1];
    const ancestry = new Map<string, string[]>();
    for (const d of depts)
      ancestry.set(
        d,
        (await h.db.pool.query("SELECT ancestry FROM departments WHERE id = $1", [d])).rows[0].ancestry,
      );
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({ role: fc.constantFrom(...ROLES), departmentId: fc.constantFrom(null, ...depts) }),
          { maxLength: 4 },
        ),
        fc.constantFrom(...depts),
        async (grants, ruleDept) => {
          const unique = grants.filter(
            (g, i) => grants.findIndex((x) => x.role === g.role && x.departmentId === g.departmentId) === i,
          );
          const u = await addUser(h, org, `gen${randomBytes(3).toString("hex")}`, unique);
          // The oracle: policy's reach for each permission, covering the department or one of its ancestors.
          const actor = {
            kind: "user" as const,
            organisationId: org.organisationId,
            userId: u.id,
            sessionId: "",
            grants: unique,
          };
          const covers = (p: "alarm:read" | "alarm:acknowledge") => {
            const r = reach(actor, p);
            return r.wholeOrganisation || r.roots.some((root) => ancestry.get(ruleDept)?.includes(root));
          };
          const acts = covers("alarm:read") && covers("alarm:acknowledge");
          const r = await rule(ruleDept, { users: [u.id] });
          expect(r.status).toBe(acts ? 201 : 400);
          // The editor's list offers exactly those a save accepts.
          const targets = await admin.get(`/api/v1/alert-targets?departmentId=${ruleDept}`);
          expect(targets.status).toBe(200);
          expect(targets.body.users.some((x: { id: string }) => x.id === u.id)).toBe(acts);
        },
      ),
      { numRuns: 40 },
    );
  }, 120_000);

  it("lists the roles and active users who can act in a department, and a refused save names everyone who cannot", async () => {
    const dept = org.departments.b1;
    const viaParent = await addUser(h, org, "Petra", [{ role: "operator", departmentId: org.departments.b }]);
    const viaOrg = await addUser(h, org, "Orvar", [{ role: "operator", departmentId: null }]);
    const admin1 = await addUser(h, org, "Dina", [{ role: "dept_admin", departmentId: dept }]);
    const elsewhere = await addUser(h, org, "Eli", [{ role: "operator", departmentId: org.departments.a }]);
    const disabled = await addUser(h, org, "Dis", [{ role: "operator", departmentId: dept }]);
    await h.db.pool.query("UPDATE staff_users SET status = 'disabled' WHERE id = $1", [disabled.id]);
    const r = await admin.get(`/api/v1/alert-targets?departmentId=${dept}`);
    expect(r.status).toBe(200);
    expect(r.body.roles).toEqual(["org_admin", "operator"]);
    const ids = r.body.users.map((u: { id: string }) => u.id);
    expect(ids).toEqual(expect.arrayContaining([viaParent.id, viaOrg.id]));
    for (const out of [admin1.id, elsewhere.id, disabled.id]) expect(ids).not.toContain(out);
    // No personal data beyond the name: no e-mail addresses or phone numbers.
    expect(Object.keys(r.body.users[0]).sort()).toEqual(["firstName", "id", "lastName"]);
    // A department outside the caller's routing departments, or none at all.
    expect((await admin.get(`/api/v1/alert-targets?departmentId=${randomUUID()}`)).status).toBe(404);
    expect((await admin.get("/api/v1/alert-targets?departmentId=nope")).status).toBe(400);
    const refused = await rule(dept, { users: [viaParent.id, admin1.id, elsewhere.id], roles: ["locator"] });
    expect(refused.status).toBe(400);
    expect(refused.body.targetsCannotAct).toEqual({
      users: [
        { id: admin1.id, name: "Test Dina" },
        { id: elsewhere.id, name: "Test Eli" },
      ],
      roles: ["locator"],
    });
  });

  it("skips at send time a named user who lost the grant, records the skip with its reason, and alerts the others", async () => {
    const dept = org.departments.a1;
    const leaving = await addUser(h, org, "Lise", [{ role: "operator", departmentId: org.departments.a }]);
    const staying = await addUser(h, org, "Stein", [{ role: "operator", departmentId: org.departments.a }]);
    const saved = await admin.post("/api/v1/alert-rules", {
      departmentId: dept,
      name: "send-time",
      alarmTypes: ["power_off"],
      steps: [{ waitS: 60, channels: ["console"], users: [leaving.id, staying.id] }],
    });
    expect(saved.status).toBe(201);
    // Lise moves to department B: she can no longer see alarms in A1.
    await h.db.pool.query("UPDATE role_grants SET department_id = $2 WHERE user_id = $1", [
      leaving.id,
      org.departments.b,
    ]);
    const api = await startApiServer({
      ...h.deps,
      clock: { now: () => new Date() },
      port: 0,
      host: "127.0.0.1",
      live: false,
      alerting: { concurrency: 1, pollIntervalMs: 100 },
    });
    try {
      const r = await addRecipient(h, org, dept, "Skip");
      const { rows } = await h.db.pool.query<{ id: string }>(
        `INSERT INTO alarms (organisation_id, department_id, device_id, recipient_id, type, severity, source,
                             device_message_id, raised_at)
         VALUES ($1, $2, $3, $4, 'power_off', 'critical', 'device', $5, now()) RETURNING id`,
        [org.organisationId, dept, r.deviceId, r.recipientId, `m-${randomBytes(4).toString("hex")}`],
      );
      const alarmId = rows[0]?.id as string;
      expect(await api.alerting?.claim(alarmId)).toBe(true);
      await until("step 1 ran", async () => {
        const d = await h.db.pool.query("SELECT 1 FROM alarm_deliveries WHERE alarm_id = $1", [alarmId]);
        return (d.rowCount ?? 0) >= 2;
      });
      const detail = await admin.get(`/api/v1/alarms/${alarmId}`);
      const byTarget = new Map(
        detail.body.deliveries.map((d: { target: string; result: string; detail: string | null }) => [
          d.target,
          d,
        ]),
      );
      expect(byTarget.get(staying.id)).toMatchObject({ result: "sent", channel: "console" });
      expect(byTarget.get(leaving.id)).toMatchObject({ result: "skipped" });
      expect((byTarget.get(leaving.id) as { detail: string }).detail).toMatch(
        /Lise cannot see and take alarms/,
      );
      expect(detail.body.deliveries).toHaveLength(2);
    } finally {
      await api.close();
    }
  }, 60_000);
});
