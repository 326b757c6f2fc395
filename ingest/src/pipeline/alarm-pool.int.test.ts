/**
 * Alarms commit on connections of their own (main.ts gives the writer an alarm pool): with every
 * connection of the position pool held, as a backlog of large batches holds them, an alarm still
 * commits and is acknowledged, while a position waits for a connection. Without the alarm pool
 * the alarm would wait behind the positions. Nor does an alarm wait for the row locks a position
 * batch's open transaction holds (the device's newest position and its row): those are written after
 * the alarm, and reach the alarm's fix once the batch commits.
 */
import { createTestDatabase, type TestDatabase } from "@vakt/storage/testing";
import fc from "fast-check";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMetrics } from "../metrics";
import { makeDevice, makeOrganisation, type TestDevice, type TestOrganisation } from "../testing/fixtures";
import { testLogger } from "../testing/harness";
import { type DeviceRef, decide } from "./decide";
import { BatchWriter, type PendingMessage } from "./writer";

let db: TestDatabase;
let org: TestOrganisation;
let positionPool: pg.Pool;
let alarmPool: pg.Pool;
const devices: TestDevice[] = [];
beforeAll(async () => {
  db = await createTestDatabase({ poolMax: 4 });
  org = await makeOrganisation(db.pool);
  for (let i = 0; i < 3; i++) devices.push(await makeDevice(db.pool, org, { recipient: true }));
  positionPool = new pg.Pool({ connectionString: db.url, max: 2 });
  alarmPool = new pg.Pool({ connectionString: db.url, max: 1 });
});
afterAll(async () => {
  await positionPool?.end();
  await alarmPool?.end();
  await db?.drop();
});

const lookup = (serial: string): DeviceRef | undefined => {
  const d = devices.find((x) => x.serial === serial);
  return (
    d && {
      id: d.id,
      serial: d.serial,
      organisationId: org.orgId,
      departmentId: org.deptId,
      recipientId: d.recipientId,
    }
  );
};

/** Adds one message; resolves with "acked" when the writer acknowledges it. */
function add(w: BatchWriter, topic: string, body: unknown): Promise<"acked"> {
  const decision = decide(topic, Buffer.from(JSON.stringify(body)), Date.now(), lookup, {
    maxPayloadBytes: 65_536,
  });
  return new Promise((resolve, reject) => {
    const m: PendingMessage = {
      decision,
      receivedAt: Date.now(),
      ack: () => resolve("acked"),
      nack: () => reject(new Error("nacked")),
    };
    w.add(m);
  });
}
const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<"waiting">((r) => setTimeout(() => r("waiting"), ms))]);

describe("the alarm lane's own connections", () => {
  it("commits any alarm while every position connection is held; the positions commit once one is free", async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...devices),
        fc.constantFrom("sos", "fall", "power_off", "other"),
        fc.double({ min: -89, max: 89, noNaN: true }),
        fc.double({ min: -179, max: 179, noNaN: true }),
        async (device, type, lat, lon) => {
          const w = new BatchWriter({
            pool: positionPool,
            alarmPool,
            logger: testLogger,
            metrics: createMetrics(),
            maxRows: 100,
            maxWaitMs: 5,
            maxConcurrent: 2,
          });
          const held = [await positionPool.connect(), await positionPool.connect()];
          const t = Date.now() - 1_000 + n++;
          const position = add(w, `vakt/v1/d/${device.serial}/up/position`, {
            v: 1,
            id: `p-${t}`,
            t,
            fixes: [{ t, lat, lon }],
          });
          const alarm = add(w, `vakt/v1/d/${device.serial}/up/alarm`, {
            v: 1,
            id: `a-${t}`,
            t,
            type,
            fix: { t, lat, lon },
          });
          try {
            expect(await within(alarm, 10_000)).toBe("acked");
            expect(await within(position, 200)).toBe("waiting");
          } finally {
            for (const c of held) c.release();
          }
          expect(await position).toBe("acked");
          const stored = await db.pool.query(
            "SELECT 1 FROM alarms WHERE device_id = $1 AND device_message_id = $2",
            [device.id, `a-${t}`],
          );
          expect(stored.rowCount).toBe(1);
          await w.drain();
        },
      ),
      { numRuns: 8 },
    );
  });

  it("commits any alarm while a position batch's open transaction holds the device's newest position and row", async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...devices),
        fc.constantFrom("sos", "fall", "power_off", "other"),
        fc.double({ min: -89, max: 89, noNaN: true }),
        fc.double({ min: -179, max: 179, noNaN: true }),
        fc.boolean(),
        async (device, type, lat, lon, lockDevice) => {
          const w = new BatchWriter({
            pool: positionPool,
            alarmPool,
            logger: testLogger,
            metrics: createMetrics(),
            maxRows: 100,
            maxWaitMs: 5,
            maxConcurrent: 2,
          });
          const t = Date.now() - 100_000 + n++ * 10;
          // The device has a newest position; a batch's transaction (left open, as a loaded ingest leaves
          // it between statements) has locked it, and maybe the device row too.
          await db.pool.query(
            `INSERT INTO latest_positions (time, device_id, organisation_id, recipient_id, lat, lon, source)
             VALUES (to_timestamp($1 / 1000.0), $2, $3, $4, 0, 0, 'gps')
             ON CONFLICT (device_id) DO UPDATE SET time = EXCLUDED.time, lat = 0, lon = 0`,
            [t - 5, device.id, org.orgId, device.recipientId],
          );
          const batch = await positionPool.connect();
          await batch.query("BEGIN");
          await batch.query("UPDATE latest_positions SET lat = 1 WHERE device_id = $1", [device.id]);
          if (lockDevice)
            await batch.query("UPDATE devices SET last_seen_at = now() WHERE id = $1", [device.id]);
          const alarm = add(w, `vakt/v1/d/${device.serial}/up/alarm`, {
            v: 1,
            id: `l-${t}`,
            t,
            type,
            fix: { t, lat, lon },
          });
          try {
            expect(await within(alarm, 10_000)).toBe("acked");
          } finally {
            await batch.query("COMMIT");
            batch.release();
          }
          await w.drain();
          // Written after it, once the lock was gone: the newest position is the alarm's fix.
          const latest = await db.pool.query<{ ms: number }>(
            "SELECT (extract(epoch FROM time) * 1000)::float8 AS ms FROM latest_positions WHERE device_id = $1",
            [device.id],
          );
          expect(latest.rows[0]?.ms).toBe(t);
        },
      ),
      { numRuns: 8 },
    );
  });
});
