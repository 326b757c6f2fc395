/** Platform alarms against a real database: raised once, cleared when the condition ends, each NOTIFYed. */
import { EVENTS_CHANNEL } from "@vakt/schemas";
import { createTestDatabase, type TestDatabase } from "@vakt/storage/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDevice, makeOrganisation } from "../testing/fixtures";
import { eventually, listen, testLogger } from "../testing/harness";
import { Supervisor } from "./supervisor";

let db: TestDatabase;
const clock = Date.now();
let supervisor: Supervisor;

beforeAll(async () => {
  db = await createTestDatabase();
  supervisor = new Supervisor({ pool: db.pool, logger: testLogger, now: () => clock });
});
afterAll(async () => {
  await db?.drop();
});

async function alarmsOf(deviceId: string, type: string) {
  const r = await db.pool.query(
    "SELECT id, state, condition_key FROM alarms WHERE device_id = $1 AND type = $2 ORDER BY received_at, id",
    [deviceId, type],
  );
  return r.rows as { id: string; state: string; condition_key: string | null }[];
}

async function setDevice(id: string, values: Record<string, unknown>) {
  const cols = Object.keys(values);
  await db.pool.query(
    `UPDATE devices SET ${cols.map((c, i) => `${c} = $${i + 2}`).join(", ")} WHERE id = $1`,
    [id, ...cols.map((c) => values[c])],
  );
}

async function addPosition(dev: { id: string }, org: { orgId: string }, t: number, lat: number, lon: number) {
  await db.pool.query(
    `INSERT INTO positions (time, device_id, organisation_id, message_id, lat, lon, accuracy_m)
     VALUES (to_timestamp($1::float8 / 1000), $2, $3, 'test', $4, $5, 5)`,
    [t, dev.id, org.orgId, lat, lon],
  );
}

describe("no contact", () => {
  it("raises once when the heartbeat is overdue, marks the device offline, clears on contact", async () => {
    const org = await makeOrganisation(db.pool);
    const dev = await makeDevice(db.pool, org, { desiredConfig: { heartbeatIntervalS: 600 } });
    const events = await listen(db.url, EVENTS_CHANNEL);
    await setDevice(dev.id, { last_seen_at: new Date(clock - 3_600_000), online: true });
    await supervisor.runOnce();
    await supervisor.runOnce();
    const raised = await alarmsOf(dev.id, "no_contact");
    expect(raised).toEqual([{ id: expect.any(String), state: "open", condition_key: null }]);
    const d = await db.pool.query("SELECT online FROM devices WHERE id = $1", [dev.id]);
    expect(d.rows[0]?.online).toBe(false);

    await setDevice(dev.id, { last_seen_at: new Date(clock), online: true });
    await supervisor.runOnce();
    const after = await alarmsOf(dev.id, "no_contact");
    expect(after.map((a) => a.state)).toEqual(["resolved"]);
    const transitions = await db.pool.query(
      "SELECT kind FROM alarm_transitions WHERE alarm_id = $1 ORDER BY id",
      [raised[0]?.id],
    );
    expect(transitions.rows.map((r) => r.kind)).toEqual(["raised", "cleared"]);
    const mine = await eventually(() => {
      const list = events.payloads.map((p) => JSON.parse(p)).filter((e) => e.deviceId === dev.id);
      return list.length >= 3 ? list : undefined;
    }, "three events");
    // Raised and marked offline; cleared (ingest had already marked it online again).
    expect(mine.map((e) => e.kind).sort()).toEqual(["alarm.changed", "alarm.raised", "device.changed"]);
    await events.close();
  });
});

describe("low battery", () => {
  it("raises once per discharge, even when staff close the alarm while the battery is still low", async () => {
    const org = await makeOrganisation(db.pool);
    const dev = await makeDevice(db.pool, org, { desiredConfig: { lowBatteryPct: 20 } });
    await setDevice(dev.id, { battery_percent: 15, charging: false });
    await supervisor.runOnce();
    const [first] = await alarmsOf(dev.id, "low_battery");
    expect(first?.state).toBe("open");
    // Staff resolve it; the battery stays low: no new alarm.
    await db.pool.query("UPDATE alarms SET state = 'resolved' WHERE id = $1", [first?.id]);
    await setDevice(dev.id, { battery_percent: 12 });
    await supervisor.runOnce();
    await setDevice(dev.id, { battery_percent: 25 });
    await supervisor.runOnce();
    expect(await alarmsOf(dev.id, "low_battery")).toHaveLength(1);
    // Charged, then discharged again: a new alarm.
    await setDevice(dev.id, { battery_percent: 90, charging: true });
    await supervisor.runOnce();
    await setDevice(dev.id, { battery_percent: 18, charging: false });
    await supervisor.runOnce();
    const all = await alarmsOf(dev.id, "low_battery");
    expect(all.map((a) => a.state)).toEqual(["resolved", "open"]);
  });
});

describe("geofences and outdated positions", () => {
  it("raises on leaving a circle, clears on coming back, and only inside the daily window", async () => {
    const org = await makeOrganisation(db.pool);
    const dev = await makeDevice(db.pool, org, { recipient: true });
    const home = await db.pool.query<{ id: string }>(
      `INSERT INTO geofences (organisation_id, recipient_id, name, shape) VALUES ($1, $2, 'Home', $3) RETURNING id`,
      [
        org.orgId,
        dev.recipientId,
        JSON.stringify({ kind: "circle", center: { lat: 59.9, lon: 10.7 }, radiusM: 200 }),
      ],
    );
    // A second fence whose window is never now (a one-second window twelve hours away).
    const later = new Date(clock + 12 * 3_600_000).toISOString().slice(11, 19);
    const laterEnd = new Date(clock + 12 * 3_600_000 + 1_000).toISOString().slice(11, 19);
    await db.pool.query("UPDATE organisations SET time_zone = 'UTC' WHERE id = $1", [org.orgId]);
    await db.pool.query(
      `INSERT INTO geofences (organisation_id, recipient_id, name, shape, window_start, window_end)
       VALUES ($1, $2, 'Night', $3, $4, $5)`,
      [
        org.orgId,
        dev.recipientId,
        JSON.stringify({ kind: "circle", center: { lat: 59.9, lon: 10.7 }, radiusM: 200 }),
        later,
        laterEnd,
      ],
    );
    await addPosition(dev, org, clock - 60_000, 59.9, 10.7);
    await supervisor.runOnce();
    expect(await alarmsOf(dev.id, "geofence_exit")).toEqual([]);
    await addPosition(dev, org, clock - 30_000, 59.91, 10.7); // about 1.1 km north
    await supervisor.runOnce();
    await supervisor.runOnce();
    const out = await alarmsOf(dev.id, "geofence_exit");
    expect(out).toEqual([{ id: expect.any(String), state: "open", condition_key: home.rows[0]?.id }]);
    await addPosition(dev, org, clock - 10_000, 59.9, 10.7001);
    await supervisor.runOnce();
    expect((await alarmsOf(dev.id, "geofence_exit")).map((a) => a.state)).toEqual(["resolved"]);
  });

  it("raises on entering a polygon marked enter", async () => {
    const org = await makeOrganisation(db.pool);
    const dev = await makeDevice(db.pool, org, { recipient: true });
    const points = [
      { lat: 59.0, lon: 10.0 },
      { lat: 59.0, lon: 10.1 },
      { lat: 59.1, lon: 10.1 },
      { lat: 59.1, lon: 10.0 },
    ];
    await db.pool.query(
      `INSERT INTO geofences (organisation_id, recipient_id, name, shape, alarm_on)
       VALUES ($1, $2, 'Road', $3, 'enter')`,
      [org.orgId, dev.recipientId, JSON.stringify({ kind: "polygon", points })],
    );
    await addPosition(dev, org, clock - 60_000, 58.9, 10.05);
    await supervisor.runOnce();
    expect(await alarmsOf(dev.id, "geofence_enter")).toEqual([]);
    await addPosition(dev, org, clock - 30_000, 59.05, 10.05);
    await supervisor.runOnce();
    expect((await alarmsOf(dev.id, "geofence_enter")).map((a) => a.state)).toEqual(["open"]);
  });

  it("raises an outdated-position alarm when the newest fix is over a week old", async () => {
    const org = await makeOrganisation(db.pool);
    const dev = await makeDevice(db.pool, org);
    await addPosition(dev, org, clock - 8 * 86_400_000, 60, 10);
    await supervisor.runOnce();
    expect((await alarmsOf(dev.id, "outdated_position")).map((a) => a.state)).toEqual(["open"]);
    await addPosition(dev, org, clock - 1_000, 60, 10);
    await supervisor.runOnce();
    expect((await alarmsOf(dev.id, "outdated_position")).map((a) => a.state)).toEqual(["resolved"]);
  });
});

describe("one supervisor at a time", () => {
  it("lets a concurrent tick skip instead of raising twice", async () => {
    const org = await makeOrganisation(db.pool);
    const dev = await makeDevice(db.pool, org);
    await setDevice(dev.id, { battery_percent: 5, charging: false });
    const other = new Supervisor({ pool: db.pool, logger: testLogger, now: () => clock });
    const results = await Promise.all([supervisor.runOnce(), other.runOnce()]);
    expect(await alarmsOf(dev.id, "low_battery")).toHaveLength(1);
    expect(results.filter((r) => !r.skipped).length).toBeGreaterThanOrEqual(1);
  });
});
