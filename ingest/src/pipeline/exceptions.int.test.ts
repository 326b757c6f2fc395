/**
 * An exception ingest's own code raises on one message's content (a value it cannot encode, built
 * past decide as a bug there would let through) is that message's fault, like a row the database
 * refuses: its batch is split, the message is kept as a dead letter with the reason, and the rest
 * commits at once, without waiting for another lane to show the database is there. Before, such an
 * error had no SQLSTATE, counted as the database being away, and the lane retried it forever.
 */
import { createTestDatabase, type TestDatabase } from "@vakt/storage/testing";
import fc from "fast-check";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMetrics } from "../metrics";
import {
  makeDevice,
  makeOrganisation,
  refOf,
  type TestDevice,
  type TestOrganisation,
} from "../testing/fixtures";
import { decide, type StoreDecision } from "./decide";
import { BatchWriter } from "./writer";

let db: TestDatabase;
let org: TestOrganisation;
let device: TestDevice;
beforeAll(async () => {
  db = await createTestDatabase({ poolMax: 4 });
  org = await makeOrganisation(db.pool);
  device = await makeDevice(db.pool, org, { recipient: true });
});
afterAll(async () => {
  await db?.drop();
});

let seq = 0;
function position(): StoreDecision {
  const n = seq++;
  const payload = JSON.stringify({
    v: 1,
    id: `x${n}`,
    fix: { t: Date.now() - 3_600_000 + n, lat: 59.9, lon: 10.7 },
  });
  const d = decide(
    `vakt/v1/d/${device.serial}/up/position`,
    Buffer.from(payload),
    Date.now(),
    () => refOf(device, org),
    { maxPayloadBytes: 65_536 },
  );
  if (d.kind !== "store") throw new Error("not stored");
  return d;
}

describe("an exception on one message's content", () => {
  it("costs that message alone, at once, on the bulk and the small path", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 80 }),
        fc.nat(),
        fc.constantFrom("not-a-uuid", "", "0000"),
        async (size, at, badId) => {
          const stores = Array.from({ length: size }, position);
          const poisoned = stores[at % size] as StoreDecision;
          // Past decide: a row whose recipient id copy-binary cannot encode (TypeError).
          for (const p of poisoned.positions) p.recipientId = badId;
          const logged: string[] = [];
          const logger = pino({ level: "warn" }, { write: (line: string) => void logged.push(line) });
          const w = new BatchWriter({
            pool: db.pool,
            logger,
            metrics: createMetrics(),
            maxRows: 500,
            maxWaitMs: 5,
            maxConcurrent: 1,
          });
          let acked = 0;
          await new Promise<void>((resolve) => {
            for (const decision of stores)
              w.add({
                decision,
                receivedAt: Date.now(),
                ack: () => {
                  if (++acked === size) resolve();
                },
              });
          });
          await w.drain();
          // Split at once, never retried as if the database were away (nothing else committed meanwhile).
          expect(logged.filter((l) => l.includes("will retry"))).toEqual([]);
          const stored = await db.pool.query<{ message_id: string }>(
            "SELECT message_id FROM positions WHERE device_id = $1 AND message_id = ANY($2)",
            [device.id, stores.map((s) => s.raw.messageId)],
          );
          // The bulk path's encoder throws; the small path binds ids as text and the database refuses
          // them (22P02): the same outcome.
          expect(stored.rows.map((r) => r.message_id).sort()).toEqual(
            stores
              .filter((s) => s !== poisoned)
              .map((s) => s.raw.messageId)
              .sort(),
          );
          const dead = await db.pool.query<{ reason: string; detail: string }>(
            "SELECT reason, detail FROM dead_letters WHERE device_id = $1",
            [device.id],
          );
          expect(dead.rows).toEqual([{ reason: "storage_rejected", detail: expect.stringMatching(/uuid/) }]);
          await db.pool.query("DELETE FROM dead_letters WHERE device_id = $1", [device.id]);
        },
      ),
      { numRuns: 12 },
    );
  });
});
