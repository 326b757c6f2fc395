/**
 * Erasure, restriction and export through the API, with the injected clock.
 * Each test builds its own organisation.
 */
import { randomBytes } from "node:crypto";
import { unzipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addPositions,
  addRecipient,
  addUser,
  createHarness,
  createOrg,
  type Harness,
  loggedIn,
  type TestOrg,
} from "../../test/harness";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

interface World {
  org: TestOrg;
  name: string;
  r: { recipientId: string; deviceId: string };
  alarmId: string;
}

/** A recipient with a unique name, positions, a geofence, raw messages and an alarm handled with a note. */
async function world(): Promise<World> {
  const org = await createOrg(h);
  const name = `Erna${randomBytes(5).toString("hex")}`;
  const r = await addRecipient(h, org, org.departments.a1, name);
  await addPositions(h, org, r, h.clock.now, 20, 60);
  const q = h.db.pool;
  await q.query(
    `INSERT INTO geofences (organisation_id, recipient_id, name, shape) VALUES ($1, $2, 'Home',
       '{"kind":"circle","center":{"lat":59.9,"lon":10.7},"radiusM":100}')`,
    [org.organisationId, r.recipientId],
  );
  await q.query(
    `INSERT INTO device_messages (time, device_id, organisation_id, direction, topic, message_id, kind, payload)
     VALUES ($1, $2, $3, 'uplink', 'vakt/v1/d/x/up/position', 'm1', 'position', '{"lat":59.9}')`,
    [new Date(h.clock.now.getTime() - 5 * 60_000), r.deviceId, org.organisationId],
  );
  const a = await q.query<{ id: string }>(
    `INSERT INTO alarms (organisation_id, department_id, device_id, recipient_id, type, severity, source,
       condition_key, raised_at, lat, lon, details, state, closed_at, outcome)
     VALUES ($1, $2, $3, $4, 'no_contact', 'high', 'platform', '', $5, 59.9, 10.7, '{"x":1}', 'resolved', $5,
       'Found ' || $6 || ' at home') RETURNING id`,
    [org.organisationId, org.departments.a1, r.deviceId, r.recipientId, h.clock.now, name],
  );
  const alarmId = a.rows[0]?.id as string;
  await q.query(
    `INSERT INTO alarm_transitions (organisation_id, alarm_id, at, kind, note) VALUES ($1, $2, $3, 'resolved', $4)`,
    [org.organisationId, alarmId, h.clock.now, `Talked to ${name}`],
  );
  return { org, name, r, alarmId };
}

async function admin(org: TestOrg) {
  const u = await addUser(h, org, `admin-${randomBytes(3).toString("hex")}`, [
    { role: "org_admin", departmentId: null },
  ]);
  return loggedIn(h, u.email);
}

describe("erasure", () => {
  it("removes positions and personal data, keeps the alarm anonymised, and the log still verifies", async () => {
    const w = await world();
    const c = await admin(w.org);
    // Someone looks at the position first, so the log names the recipient.
    expect((await c.get("/api/v1/positions/current")).status).toBe(200);
    const res = await c.post(`/api/v1/privacy/recipients/${w.r.recipientId}/erasure`, {
      reason: "Request from the person (GDPR art. 17)",
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      subjectType: "recipient",
      subjectRef: w.r.recipientId,
      trigger: "request",
      counts: { positions: 20, geofences: 1, alarmsAnonymised: 1, devicesUnassigned: 1, deviceMessages: 1 },
    });
    const q = h.db.pool;
    const count = async (sql: string) => Number((await q.query(sql, [w.r.recipientId])).rows[0]?.n);
    expect(await count("SELECT count(*) AS n FROM recipients WHERE id = $1")).toBe(0);
    expect(await count("SELECT count(*) AS n FROM positions WHERE recipient_id = $1")).toBe(0);
    expect(await count("SELECT count(*) AS n FROM geofences WHERE recipient_id = $1")).toBe(0);
    const alarm = (await q.query("SELECT * FROM alarms WHERE id = $1", [w.alarmId])).rows[0];
    expect(alarm).toMatchObject({
      recipient_id: null,
      erasure_id: res.body.id,
      lat: null,
      lon: null,
      state: "resolved",
      outcome: "erased",
      details: {},
    });
    const t = (await q.query("SELECT note, kind FROM alarm_transitions WHERE alarm_id = $1", [w.alarmId]))
      .rows;
    expect(t).toEqual([{ note: null, kind: "resolved" }]);
    // Nothing stored anywhere still holds the name.
    const dump = await q.query(
      `SELECT (SELECT json_agg(a) FROM alarms a WHERE organisation_id = $1)::text ||
              (SELECT json_agg(t) FROM alarm_transitions t WHERE organisation_id = $1)::text ||
              (SELECT json_agg(l) FROM activity_log l WHERE organisation_id = $1)::text ||
              (SELECT json_agg(e) FROM erasure_records e WHERE organisation_id = $1)::text AS all`,
      [w.org.organisationId],
    );
    expect(dump.rows[0]?.all).not.toContain(w.name);
    const verify = await c.get("/api/v1/activity/verify");
    expect(verify.body).toMatchObject({ ok: true });
    const log = await c.get(`/api/v1/activity?action=recipient.erased`);
    expect(log.body[0]).toMatchObject({
      subjectId: w.r.recipientId,
      reason: "Request from the person (GDPR art. 17)",
    });
    // Erasing twice: the recipient is gone.
    expect(
      (await c.post(`/api/v1/privacy/recipients/${w.r.recipientId}/erasure`, { reason: "again" })).status,
    ).toBe(404);
    expect((await c.get("/api/v1/privacy/erasures")).body).toHaveLength(1);
  });

  it("an erased recipient cannot be found through any GET route of the API", async () => {
    const w = await world();
    const c = await admin(w.org);
    const dept = await addUser(h, w.org, "deptadmin", [
      { role: "dept_admin", departmentId: w.org.departments.a },
    ]);
    const d = await loggedIn(h, dept.email);
    // Before erasure the sweep finds the recipient (so the check below can fail).
    const sweep = async () => {
      const doc = (await (await h.app.request("/api/openapi.json")).json()) as {
        paths: Record<string, Record<string, unknown>>;
      };
      const found: string[] = [];
      const query = `reason=privacy%20sweep&from=2026-02-01T00:00:00Z&to=2026-03-03T00:00:00Z&recipientId=${w.r.recipientId}`;
      for (const [path, ops] of Object.entries(doc.paths)) {
        if (!("get" in ops) || !path.startsWith("/api/v1/")) continue;
        const url = `${path.replaceAll("{id}", w.r.recipientId)}?${query}`;
        for (const client of [c, d]) {
          const res = await client.get(url);
          const text = JSON.stringify(res.body ?? "");
          if (res.status !== 200) continue;
          // The activity log and erasure records keep the former id as a pseudonym; never the name.
          const idAllowed = path.startsWith("/api/v1/activity") || path === "/api/v1/privacy/erasures";
          if (text.includes(w.name) || (!idAllowed && text.includes(w.r.recipientId))) found.push(path);
        }
      }
      return [...new Set(found)].sort();
    };
    const before = await sweep();
    expect(before).toEqual(
      expect.arrayContaining([
        "/api/v1/recipients",
        "/api/v1/recipients/{id}",
        "/api/v1/positions/current",
        "/api/v1/positions/recipients/{id}/history",
        "/api/v1/privacy/recipients/{id}/export",
      ]),
    );
    expect(
      (await c.post(`/api/v1/privacy/recipients/${w.r.recipientId}/erasure`, { reason: "erase" })).status,
    ).toBe(200);
    expect(await sweep()).toEqual([]);
  });

  it("is refused to anyone but an organisation administrator", async () => {
    const w = await world();
    const dept = await addUser(h, w.org, "deptadmin", [{ role: "dept_admin", departmentId: null }]);
    const d = await loggedIn(h, dept.email);
    // An organisation-wide department administrator still lacks organisation:manage.
    expect(
      (await d.post(`/api/v1/privacy/recipients/${w.r.recipientId}/erasure`, { reason: "x y z" })).status,
    ).toBe(403);
    expect(
      (await h.db.pool.query("SELECT 1 FROM recipients WHERE id = $1", [w.r.recipientId])).rows,
    ).toHaveLength(1);
  });
});

describe("restriction", () => {
  it("hides a restricted recipient from every ordinary view; an organisation administrator sees it with a reason", async () => {
    const w = await world();
    const c = await admin(w.org);
    const dept = await addUser(h, w.org, "deptadmin", [
      { role: "dept_admin", departmentId: w.org.departments.a },
    ]);
    const d = await loggedIn(h, dept.email);
    const id = w.r.recipientId;
    expect((await c.get("/api/v1/recipients")).body.map((r: { id: string }) => r.id)).toContain(id);
    const put = await d.put(`/api/v1/privacy/recipients/${id}/restriction`, { reason: "Disputed accuracy" });
    expect(put.status).toBe(200);
    expect(put.body.restrictedAt).toBe(h.clock.now.toISOString());

    for (const client of [c, d]) {
      expect((await client.get("/api/v1/recipients")).body.map((r: { id: string }) => r.id)).not.toContain(
        id,
      );
      expect((await client.get(`/api/v1/recipients/${id}`)).status).toBe(404);
      expect((await client.patch(`/api/v1/recipients/${id}`, { responderNotes: "x" })).status).toBe(404);
      expect((await client.get(`/api/v1/geofences?recipientId=${id}`)).body ?? []).toEqual([]);
      expect((await client.get(`/api/v1/privacy/recipients/${id}/export`)).status).toBe(404);
    }
    expect(JSON.stringify((await c.get("/api/v1/positions/current")).body)).not.toContain(id);
    expect(
      (
        await c.get(
          `/api/v1/positions/recipients/${id}/history?from=2026-03-01T00:00:00Z&to=2026-03-02T11:00:00Z`,
        )
      ).status,
    ).toBe(404);
    expect((await c.get(`/api/v1/activity/recipients/${id}`)).status).toBe(404);

    // The organisation administrator, giving a reason.
    expect((await d.get(`/api/v1/privacy/recipients/${id}?reason=complaint%20handling`)).status).toBe(403);
    const seen = await c.get(`/api/v1/privacy/recipients/${id}?reason=complaint%20handling`);
    expect(seen.status).toBe(200);
    expect(seen.body).toMatchObject({ id, firstName: w.name, restrictedAt: h.clock.now.toISOString() });
    expect((await c.get(`/api/v1/privacy/recipients/${id}`)).status).toBe(400);
    expect((await c.get(`/api/v1/privacy/recipients/${id}/export?reason=the%20person%20asked`)).status).toBe(
      200,
    );
    expect((await c.get("/api/v1/privacy/restrictions")).body).toEqual([
      { id, departmentId: w.org.departments.a1, restrictedAt: h.clock.now.toISOString() },
    ]);
    const log = await c.get(`/api/v1/activity?recipientId=${id}`);
    const actions = log.body.map((e: { action: string; reason: string | null }) => `${e.action}:${e.reason}`);
    expect(actions).toEqual(
      expect.arrayContaining([
        "recipient.restricted:Disputed accuracy",
        "recipient.viewed_with_reason:complaint handling",
        "recipient.exported:the person asked",
      ]),
    );

    const lifted = await d.delete(`/api/v1/privacy/recipients/${id}/restriction?reason=corrected`);
    expect(lifted.body.restrictedAt).toBeNull();
    expect((await d.get(`/api/v1/recipients/${id}`)).status).toBe(200);
  });
});

describe("export", () => {
  it("gives everything stored about a recipient as JSON and as CSV files in a zip, and logs it", async () => {
    const w = await world();
    const c = await admin(w.org);
    const operator = await addUser(h, w.org, "operator", [
      { role: "operator", departmentId: w.org.departments.a },
    ]);
    const o = await loggedIn(h, operator.email);
    expect(
      (
        await o.get(
          `/api/v1/positions/recipients/${w.r.recipientId}/history?from=2026-03-02T09:00:00Z&to=2026-03-02T10:00:01Z`,
        )
      ).status,
    ).toBe(200);
    // Fixes every minute until now; the range [now - 10 min, now) holds 10 of them.
    const from = new Date(h.clock.now.getTime() - 10 * 60_000).toISOString();
    const to = h.clock.now.toISOString();
    const res = await c.get(`/api/v1/privacy/recipients/${w.r.recipientId}/export?from=${from}&to=${to}`);
    expect(res.status).toBe(200);
    const e = res.body;
    expect(e).toMatchObject({
      format: "vakt.recipient-export",
      version: 1,
      recipient: { id: w.r.recipientId, firstName: w.name, lastName: "Testesen", birthDate: "1940-05-06" },
      devices: [{ id: w.r.deviceId }],
      geofences: [{ name: "Home" }],
      alarms: [
        {
          id: w.alarmId,
          type: "no_contact",
          transitions: [{ kind: "resolved", note: `Talked to ${w.name}` }],
        },
      ],
    });
    expect(e.positions.items).toHaveLength(10);
    const viewed = e.activity.find((a: { action: string }) => a.action === "position.history_viewed");
    expect(viewed).toMatchObject({ actorId: operator.id, actorName: "Test operator", actorType: "user" });

    const zip = await h.app.request(
      `/api/v1/privacy/recipients/${w.r.recipientId}/export?format=zip&from=${from}&to=${to}`,
      {
        headers: {
          cookie: [...c.cookies].map(([k, v]) => `${k}=${v}`).join("; "),
          "x-test-ip": "192.0.2.10",
        },
      },
    );
    expect(zip.status).toBe(200);
    expect(zip.headers.get("content-type")).toBe("application/zip");
    const files = unzipSync(new Uint8Array(await zip.arrayBuffer()));
    expect(Object.keys(files).sort()).toEqual(
      [
        "README.txt",
        "activity.csv",
        "alarms.csv",
        "contacts.csv",
        "devices.csv",
        "export.json",
        "geofences.csv",
        "positions.csv",
        "region-transitions.csv",
        "recipient.csv",
        "transitions.csv",
      ].sort(),
    );
    const text = (name: string) => new TextDecoder().decode(files[name]);
    const positions = text("positions.csv").trim().split("\r\n");
    expect(positions[0]).toBe("time,deviceId,lat,lon,accuracyM,speedMps,source,batteryPercent");
    expect(positions).toHaveLength(11);
    expect(text("recipient.csv")).toContain(w.name);
    expect(JSON.parse(text("export.json")).recipient.id).toBe(w.r.recipientId);

    const log = await c.get(`/api/v1/activity?action=recipient.exported&recipientId=${w.r.recipientId}`);
    expect(log.body.map((l: { details: { format: string } }) => l.details.format).sort()).toEqual([
      "json",
      "zip",
    ]);
  });

  it("leaves positions out for a caller without position:read, and counts an export with them as a position view", async () => {
    const w = await world();
    const historyViews = async () =>
      (
        await h.db.pool.query<{ actor_id: string; details: { via?: string } }>(
          `SELECT actor_id, details FROM activity_log
            WHERE organisation_id = $1 AND action = 'position.history_viewed' AND $2 = ANY(recipient_ids)`,
          [w.org.organisationId, w.r.recipientId],
        )
      ).rows;
    // A department administrator manages recipients but may not see where they are.
    const deptAdmin = await addUser(h, w.org, "da", [
      { role: "dept_admin", departmentId: w.org.departments.a },
    ]);
    const d = await loggedIn(h, deptAdmin.email);
    const withheld = await d.get(`/api/v1/privacy/recipients/${w.r.recipientId}/export?format=json`);
    expect(withheld.status).toBe(200);
    expect(withheld.body.positions.items).toEqual([]);
    expect(withheld.body.positions.omitted).toMatch(/position:read/);
    expect(withheld.body.alarms[0]).toMatchObject({ lat: null, lon: null });
    expect(await historyViews()).toEqual([]);

    const c = await admin(w.org);
    const full = await c.get(`/api/v1/privacy/recipients/${w.r.recipientId}/export?format=json`);
    expect(full.body.positions.items.length).toBeGreaterThan(0);
    expect(full.body.positions.omitted).toBeNull();
    expect((await historyViews()).map((v) => v.details.via)).toEqual(["export"]);
  });

  it("is refused outside the caller's departments and to roles that do not manage recipients", async () => {
    const w = await world();
    const outside = await addUser(h, w.org, "out", [
      { role: "dept_admin", departmentId: w.org.departments.b },
    ]);
    const op = await addUser(h, w.org, "op", [{ role: "operator", departmentId: w.org.departments.a }]);
    expect(
      (await (await loggedIn(h, outside.email)).get(`/api/v1/privacy/recipients/${w.r.recipientId}/export`))
        .status,
    ).toBe(404);
    expect(
      (await (await loggedIn(h, op.email)).get(`/api/v1/privacy/recipients/${w.r.recipientId}/export`))
        .status,
    ).toBe(403);
  });
});

describe("retention settings", () => {
  it("has defaults, refuses values above the ceilings or below the floors, and logs changes", async () => {
    const org = await createOrg(h);
    const c = await admin(org);
    const get = await c.get("/api/v1/privacy/retention");
    expect(get.body).toMatchObject({
      positionsDays: 90,
      deviceStatusDays: 90,
      deviceMessagesDays: 30,
      deadLettersDays: 30,
      alarmsDays: 1827,
      activityLogDays: 1827,
      recipientGraceMonths: 6,
      ceilings: { positions: 400, device_status: 90, device_messages: 90 },
    });
    expect((await c.patch("/api/v1/privacy/retention", { positionsDays: 401 })).status).toBe(400);
    expect((await c.patch("/api/v1/privacy/retention", { deviceStatusDays: 91 })).status).toBe(400);
    expect((await c.patch("/api/v1/privacy/retention", { activityLogDays: 729 })).status).toBe(400);
    const ok = await c.patch("/api/v1/privacy/retention", { positionsDays: 400, activityLogDays: 730 });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ positionsDays: 400, activityLogDays: 730, deviceMessagesDays: 30 });
    const log = await c.get("/api/v1/activity?action=retention.updated");
    expect(log.body[0].details.changes).toEqual({
      positionsDays: { before: 90, after: 400 },
      activityLogDays: { before: 1827, after: 730 },
    });
  });
});
