import { deviceSecretSha256, verifyDeviceSecret } from "@vakt/storage";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addUser,
  Client,
  createHarness,
  createOrg,
  type Harness,
  loggedIn,
  type TestOrg,
} from "../../test/harness";
import { createOrganisation } from "./service";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

async function adminOf(org: TestOrg) {
  const u = await addUser(h, org, "admin", [{ role: "org_admin", departmentId: null }]);
  return loggedIn(h, u.email);
}

const recipientBody = (departmentId: string) => ({
  departmentId,
  firstName: "Astrid",
  lastName: "Hansen",
  birthDate: "1938-04-12",
  responderNotes: "Key box by the door",
  legalBasis: "formal_decision",
  legalBasisReference: "VEDTAK-2026-17",
  legalBasisDate: "2026-01-10",
});

describe("organisation", () => {
  it("reads and changes the caller's own organisation, logging the change", async () => {
    const org = await createOrg(h);
    const c = await adminOf(org);
    expect((await c.get("/api/v1/organisation")).body).toMatchObject({
      id: org.organisationId,
      slug: org.slug,
    });
    const res = await c.patch("/api/v1/organisation", {
      requireAdminSecondFactor: true,
      timeZone: "Europe/Oslo",
    });
    expect(res.body.requireAdminSecondFactor).toBe(true);
    expect((await c.patch("/api/v1/organisation", { timeZone: "Mars/Olympus" })).status).toBe(400);
    const log = await h.db.pool.query(
      "SELECT details FROM activity_log WHERE organisation_id = $1 AND action = 'organisation.updated'",
      [org.organisationId],
    );
    expect(log.rows[0].details.changes.requireAdminSecondFactor).toEqual({ before: false, after: true });
  });
});

describe("createOrganisation", () => {
  it("creates an organisation whose first administrator sets a password by invitation", async () => {
    const slug = `new-${Date.now()}`;
    const created = await createOrganisation(h.db.pool, {
      name: "Ny kommune",
      slug,
      admin: { email: `first@${slug}.example.org`, firstName: "First", lastName: "Admin" },
      requireAdminSecondFactor: false,
    });
    const c = new Client(h);
    const token = created.invitation?.token as string;
    expect(
      (await c.post("/api/v1/auth/invitations/accept", { token, password: "first admin password" })).status,
    ).toBe(204);
    await c.login(`first@${slug}.example.org`, "first admin password");
    expect((await c.get("/api/v1/organisation")).body).toMatchObject({ id: created.organisationId, slug });
    expect((await c.get("/api/v1/auth/me")).body.permissions).toContain("token:manage");
  });
});

describe("department tree", () => {
  it("creates, renames and moves a subtree in one statement, refusing cycles", async () => {
    const org = await createOrg(h);
    const c = await adminOf(org);
    const { a, a1, b } = org.departments;
    const a1x = (await c.post("/api/v1/departments", { name: "A1x", parentId: a1 })).body;
    expect(a1x.ancestry).toEqual([a, a1, a1x.id]);
    expect((await c.patch(`/api/v1/departments/${a1}`, { name: "A-one" })).body.name).toBe("A-one");

    const moved = await c.patch(`/api/v1/departments/${a1}`, { parentId: b });
    expect(moved.status).toBe(200);
    expect(moved.body.ancestry).toEqual([b, a1]);
    const all = (await c.get("/api/v1/departments")).body as { id: string; ancestry: string[] }[];
    expect(all.find((d) => d.id === a1x.id)?.ancestry).toEqual([b, a1, a1x.id]);

    const cycle = await c.patch(`/api/v1/departments/${b}`, { parentId: a1x.id });
    expect(cycle.status).toBe(409);
    expect((await c.patch(`/api/v1/departments/${a1}`, { parentId: a1 })).status).toBe(409);
    // To the top level and back.
    expect((await c.patch(`/api/v1/departments/${a1}`, { parentId: null })).body.ancestry).toEqual([a1]);
    const after = (await c.get("/api/v1/departments")).body as { id: string; ancestry: string[] }[];
    expect(after.find((d) => d.id === a1x.id)?.ancestry).toEqual([a1, a1x.id]);
  });

  it("lets a department administrator work only inside their subtree", async () => {
    const org = await createOrg(h);
    const u = await addUser(h, org, "da", [{ role: "dept_admin", departmentId: org.departments.a }]);
    const c = await loggedIn(h, u.email);
    const seen = ((await c.get("/api/v1/departments")).body as { id: string }[]).map((d) => d.id).sort();
    expect(seen).toEqual([org.departments.a, org.departments.a1].sort());
    expect((await c.post("/api/v1/departments", { name: "Sub", parentId: org.departments.a1 })).status).toBe(
      201,
    );
    expect((await c.post("/api/v1/departments", { name: "Top", parentId: null })).status).toBe(403);
    expect((await c.post("/api/v1/departments", { name: "Other", parentId: org.departments.b })).status).toBe(
      404,
    );
    expect(
      (await c.patch(`/api/v1/departments/${org.departments.a1}`, { parentId: org.departments.b })).status,
    ).toBe(404);
  });

  it("closes a subtree only when no active recipient is left in it", async () => {
    const org = await createOrg(h);
    const c = await adminOf(org);
    const r = (await c.post("/api/v1/recipients", recipientBody(org.departments.a1))).body;
    expect((await c.post(`/api/v1/departments/${org.departments.a}/close`)).status).toBe(409);
    await c.patch(`/api/v1/recipients/${r.id}`, { status: "ended", serviceEndedOn: "2026-03-01" });
    const closed = await c.post(`/api/v1/departments/${org.departments.a}/close`);
    expect(closed.status).toBe(200);
    expect(closed.body.closedAt).not.toBeNull();
    const all = (await c.get("/api/v1/departments")).body as { id: string; closedAt: string | null }[];
    expect(all.find((d) => d.id === org.departments.a1)?.closedAt).not.toBeNull();
    expect(all.find((d) => d.id === org.departments.b)?.closedAt).toBeNull();
  });

  it("refuses anything new in a closed department, whichever route puts it there, and stores nothing", async () => {
    const org = await createOrg(h);
    const c = await adminOf(org);
    // Someone who may take alarms there (granted before it closed), so a rule is refused for the department alone.
    const opA = await addUser(h, org, "opA", [{ role: "operator", departmentId: org.departments.a }]);
    const moved = (await c.post("/api/v1/recipients", recipientBody(org.departments.b))).body as {
      id: string;
    };
    expect((await c.post(`/api/v1/departments/${org.departments.a}/close`)).status).toBe(200);
    const closed = [org.departments.a, org.departments.a1];
    const count = async () =>
      (
        await h.db.pool.query<{ n: string }>(
          `SELECT (SELECT count(*) FROM recipients WHERE department_id = ANY($1))
                + (SELECT count(*) FROM devices WHERE department_id = ANY($1))
                + (SELECT count(*) FROM role_grants WHERE department_id = ANY($1))
                + (SELECT count(*) FROM alert_rules WHERE department_id = ANY($1))
                + (SELECT count(*) FROM alert_endpoints WHERE department_id = ANY($1)) AS n`,
          [closed],
        )
      ).rows[0]?.n;
    const before = await count();
    const attempts = {
      "a recipient": (d: string) => c.post("/api/v1/recipients", recipientBody(d)),
      "a recipient moved": (d: string) => c.patch(`/api/v1/recipients/${moved.id}`, { departmentId: d }),
      "a device": (d: string, n: number) =>
        c.post("/api/v1/devices", { departmentId: d, serial: `CLOSED-${n}` }),
      "a user's grant": (d: string, n: number) =>
        c.post("/api/v1/users", {
          email: `closed${n}@example.org`,
          firstName: "X",
          lastName: "Y",
          grants: [{ role: "operator", departmentId: d }],
        }),
      "a channel": (d: string) =>
        c.post("/api/v1/alert-endpoints", {
          departmentId: d,
          name: "vakt",
          kind: "webhook",
          target: "https://example.org/hook",
        }),
      "a routing rule": (d: string) =>
        c.post("/api/v1/alert-rules", {
          departmentId: d,
          name: "rule",
          steps: [{ waitS: 60, users: [opA.id], channels: ["sms"] }],
        }),
    };
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...(Object.keys(attempts) as (keyof typeof attempts)[])),
        fc.constantFrom(...closed),
        async (what, departmentId) => {
          const res = await attempts[what](departmentId, n++);
          expect({ what, status: res.status, type: res.body.type }).toEqual({
            what,
            status: 409,
            type: "https://vakt.dev/problems/department-closed",
          });
        },
      ),
      { numRuns: 24 },
    );
    expect(await count()).toBe(before);
    // The open department still takes them.
    expect((await c.post("/api/v1/recipients", recipientBody(org.departments.b))).status).toBe(201);
  });
});

describe("staff users", () => {
  it("lets a department administrator grant roles only within their subtree", async () => {
    const org = await createOrg(h);
    const u = await addUser(h, org, "da", [{ role: "dept_admin", departmentId: org.departments.a }]);
    await addUser(h, org, "opB", [{ role: "operator", departmentId: org.departments.b }]);
    const c = await loggedIn(h, u.email);
    const body = (departmentId: string | null, role = "operator") => ({
      email: `x${Math.random().toString(36).slice(2)}@example.org`,
      firstName: "X",
      lastName: "Y",
      grants: [{ role, departmentId }],
    });
    // Bounded by what they hold: a department administrator holds no position:read, so grants no operator.
    expect((await c.post("/api/v1/users", body(org.departments.a1, "dept_admin"))).status).toBe(201);
    expect((await c.post("/api/v1/users", body(org.departments.a1))).status).toBe(403);
    expect((await c.post("/api/v1/users", body(org.departments.b, "dept_admin"))).status).toBe(404);
    expect((await c.post("/api/v1/users", body(null))).status).toBe(403);
    const listed = ((await c.get("/api/v1/users")).body as { id: string }[]).map((x) => x.id);
    expect(listed).not.toContain(org.users.opB?.id);
    expect((await c.get(`/api/v1/users/${org.users.opB?.id}`)).status).toBe(404);
  });

  it("bounds what a department administrator grants by what they hold, and nobody changes their own grants", async () => {
    const org = await createOrg(h);
    // A department administrator who is also an operator on A may grant operator inside A, not locator or auditor.
    const both = await addUser(h, org, "both", [
      { role: "dept_admin", departmentId: org.departments.a },
      { role: "operator", departmentId: org.departments.a },
    ]);
    const c = await loggedIn(h, both.email);
    const body = (role: string, departmentId: string) => ({
      email: `x${Math.random().toString(36).slice(2)}@example.org`,
      firstName: "X",
      lastName: "Y",
      grants: [{ role, departmentId }],
    });
    expect((await c.post("/api/v1/users", body("operator", org.departments.a1))).status).toBe(201);
    expect((await c.post("/api/v1/users", body("locator", org.departments.a1))).status).toBe(403);
    expect((await c.post("/api/v1/users", body("auditor", org.departments.a1))).status).toBe(403);
    // Taking a grant away is bounded the same way: an auditor grant (activity:read) stays.
    const aud = await addUser(h, org, "aud", [{ role: "auditor", departmentId: org.departments.a1 }]);
    expect(
      (
        await c.patch(`/api/v1/users/${aud.id}`, {
          grants: [{ role: "operator", departmentId: org.departments.a1 }],
        })
      ).status,
    ).toBe(403);
    // The finding: a department administrator of B added operator on B to their own grants.
    const daB = await addUser(h, org, "daB", [{ role: "dept_admin", departmentId: org.departments.b }]);
    const b = await loggedIn(h, daB.email);
    const self = await b.patch(`/api/v1/users/${daB.id}`, {
      grants: [
        { role: "dept_admin", departmentId: org.departments.b },
        { role: "operator", departmentId: org.departments.b },
      ],
    });
    expect(self.status).toBe(403);
    // Not even an organisation administrator changes their own grants.
    const admin = await addUser(h, org, "oa", [{ role: "org_admin", departmentId: null }]);
    const a = await loggedIn(h, admin.email);
    expect(
      (
        await a.patch(`/api/v1/users/${admin.id}`, {
          grants: [
            { role: "org_admin", departmentId: null },
            { role: "auditor", departmentId: org.departments.a },
          ],
        })
      ).status,
    ).toBe(403);
    const grants = await h.db.pool.query("SELECT role FROM role_grants WHERE user_id = $1", [daB.id]);
    expect(grants.rows.map((r) => r.role)).toEqual(["dept_admin"]);
  });

  it("disables a user, ending their sessions, and logs grants but not names", async () => {
    const org = await createOrg(h);
    const c = await adminOf(org);
    const op = await addUser(h, org, "op", [{ role: "operator", departmentId: org.departments.a }]);
    const opClient = await loggedIn(h, op.email);
    const res = await c.patch(`/api/v1/users/${op.id}`, {
      lastName: "Secretname",
      status: "disabled",
      grants: [{ role: "locator", departmentId: org.departments.b }],
    });
    expect(res.status).toBe(200);
    expect(res.body.grants).toEqual([{ role: "locator", departmentId: org.departments.b }]);
    expect((await opClient.get("/api/v1/auth/me")).status).toBe(401);
    const log = await h.db.pool.query(
      "SELECT details::text AS d FROM activity_log WHERE organisation_id = $1 AND action = 'user.updated'",
      [org.organisationId],
    );
    expect(log.rows[0].d).toContain("locator");
    expect(log.rows[0].d).not.toContain("Secretname");
  });
});

describe("recipients", () => {
  it("registers a recipient with its legal basis and scopes reads by department", async () => {
    const org = await createOrg(h);
    const c = await adminOf(org);
    const created = await c.post("/api/v1/recipients", recipientBody(org.departments.a1));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      legalBasis: "formal_decision",
      legalBasisReference: "VEDTAK-2026-17",
    });
    expect(created.body.birthDate).toBe("1938-04-12");
    const opB = await addUser(h, org, "opB", [{ role: "operator", departmentId: org.departments.b }]);
    const other = await loggedIn(h, opB.email);
    expect((await other.get("/api/v1/recipients")).body).toEqual([]);
    expect((await other.get(`/api/v1/recipients/${created.body.id}`)).status).toBe(404);
    expect(
      (await c.post("/api/v1/recipients", { ...recipientBody(org.departments.a), legalBasis: "vibes" }))
        .status,
    ).toBe(400);
  });
});

describe("devices", () => {
  it("provisions with credentials shown once and stored as hashes, publishing the configuration", async () => {
    const org = await createOrg(h);
    const c = await adminOf(org);
    const serial = `SN-${Date.now()}`;
    const res = await c.post("/api/v1/devices", { departmentId: org.departments.a, serial });
    expect(res.status).toBe(201);
    expect(res.body.mqttUsername).toBe(serial);
    const secret = res.body.mqttPassword as string;
    const row = (
      await h.db.pool.query("SELECT mqtt_secret_sha256, mqtt_secret_mosquitto FROM devices WHERE id = $1", [
        res.body.device.id,
      ])
    ).rows[0];
    expect(row.mqtt_secret_sha256).toBe(deviceSecretSha256(secret));
    expect(row.mqtt_secret_mosquitto).toMatch(/^\$7\$/);
    expect(JSON.stringify(row)).not.toContain(secret);
    expect(JSON.stringify((await c.get(`/api/v1/devices/${res.body.device.id}`)).body)).not.toContain(secret);
    expect(h.published.at(-1)).toMatchObject({ serial, message: { v: 1, version: 1 } });

    const rotated = await c.post(`/api/v1/devices/${res.body.device.id}/rotate-credentials`);
    const stored = (
      await h.db.pool.query("SELECT mqtt_secret_sha256 FROM devices WHERE id = $1", [res.body.device.id])
    ).rows[0].mqtt_secret_sha256;
    expect(verifyDeviceSecret(rotated.body.mqttPassword, stored)).toBe(true);
    expect(verifyDeviceSecret(secret, stored)).toBe(false);
    expect((await c.post("/api/v1/devices", { departmentId: org.departments.a, serial })).status).toBe(409);
    // Client ids beginning with vakt- belong to the services on both brokers.
    expect(
      (await c.post("/api/v1/devices", { departmentId: org.departments.a, serial: "vakt-ingest-1" })).status,
    ).toBe(400);
  });

  it("provisions an OsmAnd device with an identifier (not the serial) shown once, and no MQTT credentials", async () => {
    const org = await createOrg(h);
    const c = await adminOf(org);
    const serial = `OSM-${Date.now()}`;
    const published = h.published.length;
    const res = await c.post("/api/v1/devices", {
      departmentId: org.departments.a,
      serial,
      protocol: "osmand",
    });
    expect(res.status).toBe(201);
    expect(res.body.protocol).toBe("osmand");
    expect(res.body.device.protocol).toBe("osmand");
    expect(res.body).not.toHaveProperty("mqttPassword");
    const id = res.body.osmandDeviceId as string;
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(id).not.toContain(serial);
    const row = (
      await h.db.pool.query(
        "SELECT protocol, osmand_id_sha256, mqtt_secret_sha256, mqtt_secret_mosquitto FROM devices WHERE id = $1",
        [res.body.device.id],
      )
    ).rows[0];
    expect(row).toEqual({
      protocol: "osmand",
      osmand_id_sha256: deviceSecretSha256(id),
      mqtt_secret_sha256: null,
      mqtt_secret_mosquitto: null,
    });
    expect(JSON.stringify((await c.get(`/api/v1/devices/${res.body.device.id}`)).body)).not.toContain(id);
    expect(h.published.length).toBe(published);

    const rotated = await c.post(`/api/v1/devices/${res.body.device.id}/rotate-credentials`);
    expect(rotated.status).toBe(200);
    const next = rotated.body.osmandDeviceId as string;
    expect(next).not.toBe(id);
    const stored = (
      await h.db.pool.query("SELECT osmand_id_sha256 FROM devices WHERE id = $1", [res.body.device.id])
    ).rows[0].osmand_id_sha256;
    expect(verifyDeviceSecret(next, stored)).toBe(true);
    expect(verifyDeviceSecret(id, stored)).toBe(false);
    expect(
      (
        await c.post("/api/v1/devices", {
          departmentId: org.departments.a,
          serial: `X-${Date.now()}`,
          protocol: "sms",
        })
      ).status,
    ).toBe(400);
  });

  it("validates and versions the desired configuration and publishes it", async () => {
    const org = await createOrg(h);
    const op = await addUser(h, org, "op", [{ role: "operator", departmentId: org.departments.a }]);
    const admin = await adminOf(org);
    const dev = (
      await admin.post("/api/v1/devices", { departmentId: org.departments.a1, serial: `C-${Date.now()}` })
    ).body.device;
    const c = await loggedIn(h, op.email);
    const settings = {
      reportIntervalS: 60,
      heartbeatIntervalS: 600,
      trackingEnabled: true,
      fallDetection: "high",
      lowBatteryPct: 25,
      alarmNumber: "+4712345678",
    };
    const res = await c.put(`/api/v1/devices/${dev.id}/config`, { settings });
    expect(res.status).toBe(200);
    expect(res.body.desiredConfigVersion).toBe(2);
    expect(h.published.at(-1)).toEqual({ serial: dev.serial, message: { v: 1, version: 2, settings } });
    expect(res.body.reportedConfig).toBeNull();
    // The device reports running version 1 (as ingest records a status message): desired and reported side by side.
    const reported = { ...settings, reportIntervalS: 120, trackingEnabled: false };
    await h.db.pool.query(
      "UPDATE devices SET reported_config = $2, reported_config_version = 1 WHERE id = $1",
      [dev.id, JSON.stringify(reported)],
    );
    const read = await c.get(`/api/v1/devices/${dev.id}`);
    expect(read.body).toMatchObject({
      desiredConfig: settings,
      reportedConfig: reported,
      reportedConfigVersion: 1,
    });
    expect(
      (await c.put(`/api/v1/devices/${dev.id}/config`, { settings: { ...settings, reportIntervalS: 1 } }))
        .status,
    ).toBe(400);
    // Operators configure but do not provision.
    expect(
      (await c.post("/api/v1/devices", { departmentId: org.departments.a, serial: "NOPE-1" })).status,
    ).toBe(403);
  });

  it("assigns to a recipient and swaps a device keeping recipient and settings", async () => {
    const org = await createOrg(h);
    const c = await adminOf(org);
    const r = (await c.post("/api/v1/recipients", recipientBody(org.departments.a1))).body;
    const old = (
      await c.post("/api/v1/devices", { departmentId: org.departments.b, serial: `O-${Date.now()}` })
    ).body.device;
    const next = (
      await c.post("/api/v1/devices", { departmentId: org.departments.b, serial: `N-${Date.now()}` })
    ).body.device;
    const assigned = await c.put(`/api/v1/devices/${old.id}/recipient`, { recipientId: r.id });
    expect(assigned.body).toMatchObject({ recipientId: r.id, departmentId: org.departments.a1 });
    expect((await c.put(`/api/v1/devices/${next.id}/recipient`, { recipientId: r.id })).status).toBe(409);
    await c.put(`/api/v1/devices/${old.id}/config`, {
      settings: {
        reportIntervalS: 30,
        heartbeatIntervalS: 300,
        trackingEnabled: true,
        fallDetection: "low",
        lowBatteryPct: 15,
      },
    });
    const swapped = await c.post(`/api/v1/devices/${old.id}/swap`, { replacementDeviceId: next.id });
    expect(swapped.status).toBe(200);
    expect(swapped.body).toMatchObject({ id: next.id, recipientId: r.id, departmentId: org.departments.a1 });
    expect(swapped.body.desiredConfig.reportIntervalS).toBe(30);
    expect(swapped.body.desiredConfigVersion).toBe(3);
    expect(h.published.at(-1)).toMatchObject({ serial: next.serial, message: { version: 3 } });
    const retired = (await c.get(`/api/v1/devices/${old.id}`)).body;
    expect(retired.retiredAt).not.toBeNull();
    expect(retired.recipientId).toBeNull();
  });
});

describe("geofences", () => {
  it("adds circle and polygon fences with a daily window, scoped through the recipient", async () => {
    const org = await createOrg(h);
    const c = await adminOf(org);
    const r = (await c.post("/api/v1/recipients", recipientBody(org.departments.a1))).body;
    const circle = await c.post("/api/v1/geofences", {
      recipientId: r.id,
      name: "Home",
      shape: { kind: "circle", center: { lat: 59.91, lon: 10.75 }, radiusM: 200 },
      window: { start: "22:00", end: "07:00" },
    });
    expect(circle.status).toBe(201);
    expect(circle.body.window).toEqual({ start: "22:00", end: "07:00" });
    const poly = await c.post("/api/v1/geofences", {
      recipientId: r.id,
      name: "Garden",
      shape: {
        kind: "polygon",
        points: [
          { lat: 59.9, lon: 10.7 },
          { lat: 59.91, lon: 10.7 },
          { lat: 59.91, lon: 10.71 },
        ],
      },
    });
    expect(poly.body.window).toBeNull();
    expect(
      (
        await c.post("/api/v1/geofences", {
          recipientId: r.id,
          name: "Bad",
          shape: { kind: "polygon", points: [] },
        })
      ).status,
    ).toBe(400);
    expect(
      (await c.patch(`/api/v1/geofences/${circle.body.id}`, { window: null, active: false })).body,
    ).toMatchObject({
      window: null,
      active: false,
    });
    expect(((await c.get(`/api/v1/geofences?recipientId=${r.id}`)).body as unknown[]).length).toBe(2);
    // When crossing raises an alarm: leaving by default, entering or both when set, and what ingest reads.
    expect(circle.body.alarmOn).toBe("exit");
    for (const alarmOn of ["enter", "both", "exit"] as const) {
      const changed = await c.patch(`/api/v1/geofences/${circle.body.id}`, { alarmOn });
      expect(changed.body.alarmOn).toBe(alarmOn);
      const stored = await h.db.pool.query("SELECT alarm_on FROM geofences WHERE id = $1", [circle.body.id]);
      expect(stored.rows[0]?.alarm_on).toBe(alarmOn);
    }
    expect((await c.patch(`/api/v1/geofences/${circle.body.id}`, { alarmOn: "sideways" })).status).toBe(400);
    const entering = await c.post("/api/v1/geofences", {
      recipientId: r.id,
      name: "Kitchen",
      shape: { kind: "circle", center: { lat: 59.91, lon: 10.75 }, radiusM: 20 },
      alarmOn: "enter",
    });
    expect(entering.body.alarmOn).toBe("enter");
    const opB = await addUser(h, org, "opB", [{ role: "operator", departmentId: org.departments.b }]);
    const other = await loggedIn(h, opB.email);
    expect((await other.get(`/api/v1/geofences?recipientId=${r.id}`)).body).toEqual([]);
    const denied = await other.delete(`/api/v1/geofences/${poly.body.id}`);
    expect(denied.status, JSON.stringify(denied.body)).toBe(404);
    expect((await c.delete(`/api/v1/geofences/${poly.body.id}`)).status).toBe(204);
  });
});
