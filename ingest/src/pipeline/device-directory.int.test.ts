/**
 * The device directory against a real database: a message whose device was
 * looked up is decided with that device, however the clock moves between the
 * look-up and the decision (an entry expiring in between made a provisioned
 * device "unknown" and its acknowledged message a dead letter).
 */
import { createTestDatabase, type TestDatabase } from "@vakt/storage/testing";
import fc from "fast-check";
import type pg from "pg";
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

  it("warms every active device and no retired one, page after page, with no look-up after", async () => {
    const org = await makeOrganisation(db.pool);
    const made = [];
    for (let i = 0; i < 23; i++) made.push(await makeDevice(db.pool, org));
    const retired = made.slice(0, 5);
    await db.pool.query("UPDATE devices SET retired_at = now() WHERE id = ANY($1::uuid[])", [
      retired.map((d) => d.id),
    ]);
    const active = await db.pool.query<{ serial: string; id: string }>(
      "SELECT serial, id FROM devices WHERE retired_at IS NULL",
    );
    const counted = countingPool(db.pool);
    const directory = new DeviceDirectory(counted.pool, { warmPage: 4 });
    expect(await directory.warm()).toBe(active.rows.length);
    const queriesOfWarm = counted.queries;
    // Pages of 4 over every active device, plus the last (short or empty) page.
    expect(queriesOfWarm).toBe(Math.floor(active.rows.length / 4) + 1);
    for (const r of active.rows) expect((await directory.resolve(r.serial))?.id).toBe(r.id);
    for (const d of retired) expect(directory.peek(d.serial)).toBeUndefined();
    expect(counted.queries).toBe(queriesOfWarm);
  });

  it("keeps nothing a load read before an invalidation that came while it was in flight", async () => {
    const org = await makeOrganisation(db.pool);
    const devices: TestDevice[] = [];
    for (let i = 0; i < 6; i++) devices.push(await makeDevice(db.pool, org));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("resolve", "warm"),
        fc.subarray(devices.map((_, i) => i)),
        fc.boolean(),
        async (how, changedIdx, clearAll) => {
          const held = holdingPool(db.pool);
          const directory = new DeviceDirectory(held.pool, { warmPage: 100 });
          const serials = devices.map((d) => d.serial);
          const loading =
            how === "warm" ? directory.warm() : Promise.all(serials.map((s) => directory.resolve(s)));
          await held.waitingOne();
          // What the listener hears while the load's query is out (the rows it reads are as before).
          for (const i of changedIdx) directory.invalidate(serials[i]);
          if (clearAll) directory.invalidate();
          held.release();
          const answered = await loading;
          const changed = new Set(clearAll ? serials : changedIdx.map((i) => serials[i]));
          for (const [i, serial] of serials.entries()) {
            // A message waiting on this load is decided with what it read...
            if (how === "resolve") {
              expect((answered as (unknown | undefined)[])[i]).toBeDefined();
              expect(directory.lookup(serial)?.id).toBe(devices[i]?.id);
            }
            // ...but only an unchanged serial stays cached; a changed one is loaded again.
            if (changed.has(serial)) expect(directory.peek(serial)).toBeUndefined();
            else expect(directory.peek(serial)?.id).toBe(devices[i]?.id);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it("keeps a warm directory warm: on its interval, and after its listener reconnects", async () => {
    const org = await makeOrganisation(db.pool);
    const device = await makeDevice(db.pool, org);
    const logger = (await import("pino")).default({ level: "silent" });
    const often = new DeviceDirectory(db.pool);
    const seldom = new DeviceDirectory(db.pool);
    try {
      await often.listen(logger, db.url);
      await often.keepWarm(logger, 200);
      expect(often.peek(device.serial)?.id).toBe(device.id);
      // A changed device is forgotten at once (NOTIFY), and warmed again on the next interval.
      await db.pool.query("UPDATE devices SET retired_at = now() WHERE id = $1", [device.id]);
      await expect.poll(() => often.peek(device.serial), { timeout: 5_000 }).toBeUndefined();
      await db.pool.query("UPDATE devices SET retired_at = NULL WHERE id = $1", [device.id]);
      await expect.poll(() => often.peek(device.serial)?.id, { timeout: 5_000 }).toBe(device.id);
      await often.close();

      // The listener's connection is cut: the reconnect clears the cache and warms it again, long
      // before the interval would.
      await seldom.listen(logger, db.url);
      await seldom.keepWarm(logger, 600_000);
      expect(seldom.peek(device.serial)?.id).toBe(device.id);
      const listenerPid = async () =>
        (
          await db.pool.query<{ pid: number }>(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'vakt-ingest-directory' AND datname = current_database()",
          )
        ).rows[0]?.pid;
      const before = await listenerPid();
      expect(before).toBeDefined();
      await db.pool.query("SELECT pg_terminate_backend($1)", [before]);
      await expect.poll(async () => (await listenerPid()) ?? before, { timeout: 10_000 }).not.toBe(before);
      await new Promise((r) => setTimeout(r, 300)); // listening again: the cache was cleared
      await expect.poll(() => seldom.peek(device.serial)?.id, { timeout: 5_000 }).toBe(device.id);
    } finally {
      await often.close();
      await seldom.close();
    }
  });

  it("stops paging a warm-up once closed, so a draining lane does not read the fleet into an ending pool", async () => {
    const org = await makeOrganisation(db.pool);
    for (let i = 0; i < 3; i++) await makeDevice(db.pool, org);
    const counted = countingPool(db.pool);
    const directory = new DeviceDirectory(counted.pool, { warmPage: 1 });
    const warming = directory.warm();
    await directory.close();
    await warming;
    expect(counted.queries).toBe(1);
  });
});

/** A pool whose queries are counted. */
function countingPool(pool: pg.Pool) {
  const counted = {
    queries: 0,
    pool: {
      query: (...args: unknown[]) => {
        counted.queries++;
        return (pool.query as (...a: unknown[]) => unknown)(...args);
      },
    } as unknown as pg.Pool,
  };
  return counted;
}

/** A pool whose first query's answer is held until `release()` (the rows are read at once). */
function holdingPool(pool: pg.Pool) {
  let gate: (() => void) | undefined;
  const opened = new Promise<void>((resolve) => {
    gate = resolve;
  });
  let arrived: (() => void) | undefined;
  const waiting = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  return {
    pool: {
      query: async (...args: unknown[]) => {
        const result = await (pool.query as (...a: unknown[]) => Promise<unknown>)(...args);
        arrived?.();
        await opened;
        return result;
      },
    } as unknown as pg.Pool,
    waitingOne: () => waiting,
    release: () => gate?.(),
  };
}
