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

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

async function logRows(orgId: string, action: string) {
  return (
    await h.db.pool.query(
      "SELECT actor_id, session_id, recipient_ids, reason, details FROM activity_log WHERE organisation_id = $1 AND action = $2 ORDER BY seq",
      [orgId, action],
    )
  ).rows;
}

describe("current positions", () => {
  it("returns a FeatureCollection of the recipients the caller may see, and logs the view", async () => {
    const org = await createOrg(h);
    const inA1 = await addRecipient(h, org, org.departments.a1, "Inside");
    const inB = await addRecipient(h, org, org.departments.b, "Outside");
    const silent = await addRecipient(h, org, org.departments.a, "NoFix");
    await addPositions(h, org, inA1, h.clock.now, 3, 60);
    await addPositions(h, org, inB, h.clock.now, 3, 60);
    const op = await addUser(h, org, "op", [{ role: "operator", departmentId: org.departments.a }]);
    const c = await loggedIn(h, op.email);
    const res = await c.get("/api/v1/positions/current");
    expect(res.status).toBe(200);
    expect(res.body.type).toBe("FeatureCollection");
    expect(res.body.features).toHaveLength(1);
    const f = res.body.features[0];
    expect(f.properties).toMatchObject({ recipientId: inA1.recipientId, name: "Inside Testesen" });
    expect(f.properties.time).toBe(h.clock.now.toISOString());
    expect(f.geometry.coordinates).toEqual([10.7, 59.9]);
    const logs = await logRows(org.organisationId, "position.current_viewed");
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ actor_id: op.id, recipient_ids: [inA1.recipientId], reason: null });
    expect(logs[0].session_id).not.toBeNull();
    expect(logs[0].recipient_ids).not.toContain(silent.recipientId);
  });

  it("makes locators look up one recipient at a time, with a real reason, which is logged", async () => {
    const org = await createOrg(h);
    const r = await addRecipient(h, org, org.departments.b1);
    await addPositions(h, org, r, h.clock.now, 1, 60);
    const loc = await addUser(h, org, "loc", [{ role: "locator", departmentId: org.departments.b }]);
    const c = await loggedIn(h, loc.email);
    // Bulk current positions are refused to locators, whatever the reason.
    expect((await c.get("/api/v1/positions/current")).status).toBe(403);
    expect(
      (await c.get("/api/v1/positions/current?reason=Alarm%20call%20from%20next%20of%20kin")).status,
    ).toBe(403);
    const history = (reason?: string) =>
      c.get(
        `/api/v1/positions/recipients/${r.recipientId}/history?from=2026-03-02T08:00:00Z&to=2026-03-02T11:00:00Z${
          reason === undefined ? "" : `&reason=${encodeURIComponent(reason)}`
        }`,
      );
    const without = await history();
    expect(without.status).toBe(400);
    expect(without.body.type).toContain("reason-required");
    // The finding: "check" (and anything under 15 characters) is no justification.
    expect((await history("check")).status).toBe(400);
    expect((await history("checking on her")).status).toBe(200);
    const withReason = await history("Alarm call from next of kin");
    expect(withReason.status).toBe(200);
    const logs = await logRows(org.organisationId, "position.history_viewed");
    expect(logs).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ reason: "Alarm call from next of kin", recipient_ids: [r.recipientId] }),
      ]),
    );
    // What a locator sees of the recipient: name and department, no birth date, notes or legal-basis reference.
    await h.db.pool.query(
      "UPDATE recipients SET birth_date = '1930-01-01', responder_notes = 'Key under the mat' WHERE id = $1",
      [r.recipientId],
    );
    const seen = await c.get(`/api/v1/recipients/${r.recipientId}`);
    expect(seen.status).toBe(200);
    expect(seen.body).toMatchObject({ birthDate: null, responderNotes: null, legalBasisReference: null });
    expect(JSON.stringify((await c.get("/api/v1/recipients")).body)).not.toContain("Key under the mat");
  });

  it("shows no positions to auditors or department administrators", async () => {
    const org = await createOrg(h);
    const aud = await addUser(h, org, "aud", [{ role: "auditor", departmentId: null }]);
    const da = await addUser(h, org, "da", [{ role: "dept_admin", departmentId: org.departments.a }]);
    expect((await (await loggedIn(h, aud.email)).get("/api/v1/positions/current")).status).toBe(403);
    expect((await (await loggedIn(h, da.email)).get("/api/v1/positions/current")).status).toBe(403);
  });
});

describe("position history", () => {
  it("returns raw fixes for a short range and logs the range", async () => {
    const org = await createOrg(h);
    const r = await addRecipient(h, org, org.departments.a);
    await addPositions(h, org, r, h.clock.now, 360, 10); // one hour
    const op = await addUser(h, org, "op", [{ role: "operator", departmentId: null }]);
    const c = await loggedIn(h, op.email);
    const from = new Date(h.clock.now.getTime() - 30 * 60_000).toISOString();
    const to = new Date(h.clock.now.getTime() + 1).toISOString();
    const res = await c.get(`/api/v1/positions/recipients/${r.recipientId}/history?from=${from}&to=${to}`);
    expect(res.status).toBe(200);
    expect(res.body.bucketSeconds).toBeNull();
    expect(res.body.points).toHaveLength(181);
    expect(res.body.points[0].time < res.body.points[180].time).toBe(true);
    const logs = await logRows(org.organisationId, "position.history_viewed");
    expect(logs[0].details).toMatchObject({ from, to, points: 181 });
  });

  it("downsamples a month of 10-second fixes into time buckets", async () => {
    const org = await createOrg(h);
    const r = await addRecipient(h, org, org.departments.a);
    const days = 30;
    await addPositions(h, org, r, h.clock.now, days * 8640, 10);
    const op = await addUser(h, org, "op", [{ role: "operator", departmentId: org.departments.a }]);
    const c = await loggedIn(h, op.email);
    const from = new Date(h.clock.now.getTime() - days * 86_400_000).toISOString();
    const to = h.clock.now.toISOString();
    const started = performance.now();
    const res = await c.get(
      `/api/v1/positions/recipients/${r.recipientId}/history?from=${from}&to=${to}&maxPoints=1000`,
    );
    const ms = performance.now() - started;
    expect(res.status).toBe(200);
    expect(res.body.bucketSeconds).toBe(2592);
    expect(res.body.points.length).toBeGreaterThan(990);
    expect(res.body.points.length).toBeLessThanOrEqual(1001);
    console.log(`history: ${days * 8640} fixes -> ${res.body.points.length} points in ${ms.toFixed(0)} ms`);
  });

  it("answers 404 for a recipient outside the caller's departments and logs nothing", async () => {
    const org = await createOrg(h);
    const r = await addRecipient(h, org, org.departments.b);
    await addPositions(h, org, r, h.clock.now, 5, 10);
    const op = await addUser(h, org, "op", [{ role: "operator", departmentId: org.departments.a }]);
    const c = await loggedIn(h, op.email);
    const from = new Date(h.clock.now.getTime() - 3_600_000).toISOString();
    const res = await c.get(
      `/api/v1/positions/recipients/${r.recipientId}/history?from=${from}&to=${h.clock.now.toISOString()}`,
    );
    expect(res.status).toBe(404);
    expect(await logRows(org.organisationId, "position.history_viewed")).toEqual([]);
    const backwards = await c.get(
      `/api/v1/positions/recipients/${r.recipientId}/history?from=${h.clock.now.toISOString()}&to=${from}`,
    );
    expect(backwards.status).toBe(400);
  });
});
