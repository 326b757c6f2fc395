/**
 * One device flooding large payloads must not make ingest hold unbounded memory: the payload bytes
 * of what the main session handed over and ingest has not acknowledged stay under the bound plus one
 * message, the broker keeps the rest, and everything is stored in the end, another device's
 * positions among it. Before, the only bound was the receive window (40,000 messages) times the
 * largest message the broker passes (1 MiB).
 * Real Mosquitto with the shipped configuration, real PostgreSQL.
 */
import { uplinkTopic } from "@vakt/schemas";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createIngest, type Ingest } from "../ingest";
import { DEAD_LETTER_EXCERPT_BYTES, DEAD_LETTER_PAYLOAD_BYTES } from "../pipeline/decide";
import { makeDevice, makeOrganisation } from "../testing/fixtures";
import { count, eventually, type Harness, ingestConnection, startHarness } from "../testing/harness";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

/** Somewhat more than a dead letter keeps of one oversized message. */
const LARGEST = DEAD_LETTER_PAYLOAD_BYTES + DEAD_LETTER_EXCERPT_BYTES;

describe("a flood of large payloads from one device", () => {
  it("keeps what ingest holds under its byte bound, and stores every message and every other device's position", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 60, max: 160 }),
        fc.integer({ min: 70_000, max: 400_000 }),
        fc.integer({ min: 2 * LARGEST, max: 16 * LARGEST }),
        async (messages, size, maxHeldBytes) => {
          const org = await makeOrganisation(h.db.pool);
          const flooder = await makeDevice(h.db.pool, org);
          const other = await makeDevice(h.db.pool, org, { recipient: true });
          const ingest: Ingest = createIngest({
            ...ingestConnection(h),
            config: { INGEST_CLIENT_ID: `held-bytes-${run++}`, INGEST_BATCH_MAX_WAIT_MS: 20 },
            maxHeldBytes,
            // Each run its own session: in a share group, an earlier run's stopped session keeps its share.
            sharedSubscription: false,
            http: false,
            supervise: false,
          });
          await ingest.start();
          const sim = await h.connectSim();
          try {
            const big = Buffer.alloc(size, 0x61);
            const t0 = Date.now() - 60_000;
            // All at once (QoS 1, not waiting for each PUBACK), with the other device's positions among them.
            await Promise.all(
              Array.from({ length: messages }, (_, i) =>
                Promise.all([
                  sim.publishAsync(uplinkTopic(flooder.serial, "position"), big, { qos: 1 }),
                  i % 10 === 0
                    ? sim.publishAsync(
                        uplinkTopic(other.serial, "position"),
                        JSON.stringify({ v: 1, id: `o${i}`, fix: { t: t0 + i, lat: 59.9, lon: 10.7 } }),
                        { qos: 1 },
                      )
                    : undefined,
                ]),
              ),
            );
            await eventually(async () => {
              const n = await count(
                h.db.pool,
                "SELECT count(*) n FROM dead_letters WHERE device_id = $1 AND reason = 'payload_too_large'",
                [flooder.id],
              );
              return n === messages ? n : undefined;
            }, `${messages} dead letters`);
            expect(
              await count(h.db.pool, "SELECT count(*) n FROM positions WHERE device_id = $1", [other.id]),
            ).toBe(Math.ceil(messages / 10));
            // The message that crosses the bound is taken; the next waits.
            expect(ingest.heldBytesPeak()).toBeLessThanOrEqual(maxHeldBytes + size);
          } finally {
            await sim.endAsync();
            await ingest.stop();
          }
        },
      ),
      { numRuns: 3, endOnFailure: true },
    );
  });
});
