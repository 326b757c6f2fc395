/**
 * The device directory against a real database: a message whose device was
 * looked up is decided with that device, however the clock moves between the
 * look-up and the decision (an entry expiring in between made a provisioned
 * device "unknown" and its acknowledged message a dead letter).
 */
import { createTestDatabase, type TestDatabase } from "@vakt/storage/testing";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDevice, makeOrganisation, type TestDevice } from "../testing/fixtures";
import { DeviceDirectory } from "./device-directory";

let db: TestDatabase;
let device: TestDevice;

beforeAll(async () => {
  db = await createTestDatabase();
  device = await makeDevice(db.pool, await makeOrganisation(db.pool));
});
afterAll(async () => {
  await db?.drop();
});

describe("device directory", () => {
  it("decides with the device it resolved, even when its entry expires before the decision", async () => {
    const TTL = 60_000;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 3 * TTL }), fc.boolean(), async (later, warm) => {
        let clock = 1_000_000;
        const directory = new DeviceDirectory(db.pool, { ttlMs: TTL, now: () => clock });
        if (warm) {
          await directory.resolve(device.serial);
          clock += TTL - 1; // fresh when the pipeline peeks, about to expire
        }
        // What the pipeline does: resolve unless fresh, then decide synchronously.
        if (directory.peek(device.serial) === undefined) await directory.resolve(device.serial);
        clock += later;
        expect(directory.lookup(device.serial)?.id).toBe(device.id);
      }),
      { numRuns: 50 },
    );
  });

  it("still reloads an expired entry before a message is decided, and forgets a retired device", async () => {
    let clock = 0;
    const directory = new DeviceDirectory(db.pool, { ttlMs: 1_000, negativeTtlMs: 100, now: () => clock });
    expect((await directory.resolve(device.serial))?.id).toBe(device.id);
    await db.pool.query("UPDATE devices SET retired_at = now() WHERE id = $1", [device.id]);
    expect(directory.peek(device.serial)?.id).toBe(device.id);
    clock += 1_000;
    expect(directory.peek(device.serial)).toBeUndefined();
    expect(await directory.resolve(device.serial)).toBeUndefined();
    expect(directory.lookup(device.serial)).toBeUndefined();
    await db.pool.query("UPDATE devices SET retired_at = NULL WHERE id = $1", [device.id]);
  });

  it("does not pile up serials nobody has, however many come (OsmAnd takes any id from anyone)", async () => {
    let clock = 0;
    const directory = new DeviceDirectory(db.pool, { ttlMs: 60_000, negativeTtlMs: 5_000, now: () => clock });
    await directory.resolve(device.serial);
    let seen = 0;
    for (let round = 0; round < 30; round++) {
      const serials = Array.from({ length: 5_000 }, (_, i) => `NOBODY-${round}-${i}`);
      await Promise.all(serials.map((s) => directory.resolve(s)));
      seen += serials.length;
      clock += 1_000;
    }
    // 150,000 unknown serials came; what stays is bounded by the sweep, not by what came.
    expect(seen).toBe(150_000);
    expect(directory.size).toBeLessThanOrEqual(100_000);
    // A device that is known is still found.
    expect((await directory.resolve(device.serial))?.id).toBe(device.id);
  });
});
