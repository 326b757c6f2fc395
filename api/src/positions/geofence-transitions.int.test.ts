/**
 * Geofence transitions (OwnTracks) on the recipient's timeline: in the position history under its
 * scope, reason and log entry, in the export only with position:read, and gone with an erasure.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addRecipient, addUser, createHarness, createOrg, type Harness, loggedIn } from "../../test/harness";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

describe("geofence transitions", () => {
  it("are position data: shown with the history, withheld without position:read, erased with the recipient", async () => {
    const org = await createOrg(h);
    const r = await addRecipient(h, org, org.departments.a1, "Ruth");
    const at = (min: number) => new Date(h.clock.now.getTime() - min * 60_000);
    for (const [i, event] of (["leave", "enter"] as const).entries())
      await h.db.pool.query(
        `INSERT INTO device_transitions (device_id, organisation_id, recipient_id, department_id, message_id, event,
           region_desc, trigger, time, lat, lon, accuracy_m)
         VALUES ($1, $2, $3, $4, $5, $6, 'Hjemme', 'c', $7, 59.91, 10.75, 12)`,
        [
          r.deviceId,
          org.organisationId,
          r.recipientId,
          org.departments.a1,
          `ot-transition-${i}`,
          event,
          at(30 - i * 10),
        ],
      );
    const range = `from=${at(60).toISOString()}&to=${h.clock.now.toISOString()}`;
    const history = `/api/v1/positions/recipients/${r.recipientId}/history?${range}`;

    const op = await loggedIn(
      h,
      (await addUser(h, org, "op", [{ role: "operator", departmentId: org.departments.a }])).email,
    );
    const seen = await op.get(history);
    expect(seen.status).toBe(200);
    expect(
      seen.body.transitions.map((t: { event: string; region: string; trigger: string }) => [
        t.event,
        t.region,
        t.trigger,
      ]),
    ).toEqual([
      ["leave", "Hjemme", "circular"],
      ["enter", "Hjemme", "circular"],
    ]);
    const other = await loggedIn(
      h,
      (await addUser(h, org, "op-b", [{ role: "operator", departmentId: org.departments.b }])).email,
    );
    expect((await other.get(history)).status).toBe(404);

    const da = await loggedIn(
      h,
      (await addUser(h, org, "da", [{ role: "dept_admin", departmentId: org.departments.a }])).email,
    );
    expect((await da.get(history)).status).toBe(403);
    const withheld = await da.get(`/api/v1/privacy/recipients/${r.recipientId}/export?format=json&${range}`);
    expect(withheld.body.regionTransitions.items).toEqual([]);

    const admin = await loggedIn(
      h,
      (await addUser(h, org, "adm", [{ role: "org_admin", departmentId: null }])).email,
    );
    const full = await admin.get(`/api/v1/privacy/recipients/${r.recipientId}/export?format=json&${range}`);
    expect(full.body.regionTransitions.items).toHaveLength(2);

    expect(
      (
        await admin.post(`/api/v1/privacy/recipients/${r.recipientId}/erasure`, {
          reason: "Tjenesten er avsluttet",
        })
      ).status,
    ).toBeLessThan(300);
    const left = await h.db.pool.query(
      "SELECT count(*)::int AS n FROM device_transitions WHERE recipient_id = $1",
      [r.recipientId],
    );
    expect(left.rows[0]?.n).toBe(0);
  });
});
