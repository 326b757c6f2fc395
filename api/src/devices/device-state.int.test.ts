/**
 * What the device list says of each device (signal, firmware, charging, whether it runs the desired
 * configuration), and the desired configuration sent again to every device that has not confirmed
 * it: seeded devices (the demo of `npm start`) and a publish that failed said "not confirmed" for
 * ever.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addUser, createHarness, createOrg, type Harness, loggedIn, type TestOrg } from "../../test/harness";
import { republishPendingConfigs } from "./service";

let h: Harness;
let org: TestOrg;
beforeAll(async () => {
  h = await createHarness();
  org = await createOrg(h);
});
afterAll(async () => {
  await h.close();
});

async function admin() {
  const u = await addUser(h, org, "admin", [{ role: "org_admin", departmentId: null }]);
  return loggedIn(h, u.email);
}

let n = 0;
async function provision(protocol: "mqtt" | "owntracks" | "osmand" = "mqtt") {
  const c = await admin();
  const res = await c.post("/api/v1/devices", {
    departmentId: org.departments.a,
    serial: `STATE-${protocol}-${++n}`,
    protocol,
  });
  expect(res.status).toBe(201);
  return { c, id: res.body.device.id as string, serial: res.body.device.serial as string };
}

const status = (id: string, at: Date, fields: { signal?: number | null; firmware?: string | null }) =>
  h.db.pool.query(
    `INSERT INTO device_status (time, device_id, organisation_id, message_id, signal_dbm, firmware)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [at, id, org.organisationId, `s-${at.getTime()}`, fields.signal ?? null, fields.firmware ?? null],
  );

describe("the device list", () => {
  it("shows signal and firmware from the newest status that carried each, and charging", async () => {
    const { c, id } = await provision();
    await status(id, new Date("2026-03-02T09:00:00Z"), { signal: -71, firmware: "2.4.0" });
    await status(id, new Date("2026-03-02T09:30:00Z"), { signal: -85 });
    await status(id, new Date("2026-03-02T09:40:00Z"), {});
    await h.db.pool.query("UPDATE devices SET charging = true, battery_percent = 64 WHERE id = $1", [id]);
    const one = (await c.get(`/api/v1/devices/${id}`)).body;
    expect(one).toMatchObject({ signalDbm: -85, firmware: "2.4.0", charging: true, batteryPercent: 64 });
    const listed = ((await c.get("/api/v1/devices")).body as { id: string }[]).find((d) => d.id === id);
    expect(listed).toEqual(one);
  });

  it("a change answers the device as a read of it does, signal and firmware included", async () => {
    const { c, id } = await provision();
    await status(id, new Date("2026-03-02T09:00:00Z"), { signal: -60, firmware: "3.0.1" });
    await status(id, new Date("2026-03-02T09:10:00Z"), { signal: -77 });
    const settings = { ...(await c.get(`/api/v1/devices/${id}`)).body.desiredConfig, reportIntervalS: 300 };
    const changed = await c.put(`/api/v1/devices/${id}/config`, { settings });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ signalDbm: -77, firmware: "3.0.1" });
    expect(changed.body).toEqual((await c.get(`/api/v1/devices/${id}`)).body);
  });

  it("says whether the device runs the desired configuration", async () => {
    const { c, id } = await provision();
    expect((await c.get(`/api/v1/devices/${id}`)).body.configState).toBe("pending");
    await h.db.pool.query(
      "UPDATE devices SET reported_config_version = desired_config_version WHERE id = $1",
      [id],
    );
    expect((await c.get(`/api/v1/devices/${id}`)).body.configState).toBe("confirmed");
    const osmand = await provision("osmand");
    expect((await c.get(`/api/v1/devices/${osmand.id}`)).body.configState).toBe("not_applicable");
  });
});

describe("unconfirmed configurations sent again", () => {
  it("goes to exactly the MQTT devices whose reported version is not the desired one, each with its desired version", async () => {
    const devices = [
      await provision("mqtt"),
      await provision("mqtt"),
      await provision("owntracks"),
      await provision("osmand"),
      await provision("mqtt"),
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 4 })), {
          minLength: devices.length,
          maxLength: devices.length,
        }),
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: devices.length, maxLength: devices.length }),
        fc.array(fc.boolean(), { minLength: devices.length, maxLength: devices.length }),
        async (reported, desired, retired) => {
          for (const [i, d] of devices.entries())
            await h.db.pool.query(
              `UPDATE devices SET reported_config_version = $2, desired_config_version = $3,
                      retired_at = CASE WHEN $4 THEN now() END WHERE id = $1`,
              [d.id, reported[i], desired[i], retired[i]],
            );
          h.published.length = 0;
          await republishPendingConfigs(h.deps, h.deps.deviceCommands);
          const mine = new Map(devices.map((d, i) => [d.serial, i]));
          const sent = h.published.filter((p) => mine.has(p.serial));
          const expected = devices.flatMap((d, i) =>
            !retired[i] && !d.serial.includes("osmand") && reported[i] !== desired[i]
              ? [{ serial: d.serial, version: desired[i] }]
              : [],
          );
          expect(sent.map((p) => ({ serial: p.serial, version: p.message.version })).sort(bySerial)).toEqual(
            expected.sort(bySerial),
          );
        },
      ),
      { numRuns: 40 },
    );
  });

  it("leaves a device whose configuration is being changed to that change", async () => {
    const d = await provision("mqtt");
    const other = await h.db.pool.connect();
    try {
      await other.query("BEGIN");
      await other.query("SELECT 1 FROM devices WHERE id = $1 FOR UPDATE", [d.id]);
      h.published.length = 0;
      await republishPendingConfigs(h.deps, h.deps.deviceCommands);
      expect(h.published.map((p) => p.serial)).not.toContain(d.serial);
    } finally {
      await other.query("ROLLBACK");
      other.release();
    }
    await republishPendingConfigs(h.deps, h.deps.deviceCommands);
    expect(h.published.map((p) => p.serial)).toContain(d.serial);
  });
});

const bySerial = (a: { serial: string }, b: { serial: string }) => (a.serial < b.serial ? -1 : 1);
