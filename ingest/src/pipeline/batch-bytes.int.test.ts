/**
 * A batch closes at its byte bound as well as its row bound: what a batch carries of its messages
 * into one statement must not grow with the messages. With rows alone (5,000 by default), 5,000 dead
 * letters each keeping 64 KiB made one statement of 330 MB, whose bytea[] parameter pg spells as a
 * single hex string longer than V8 can hold; small messages never meet the bound.
 */
import { createTestDatabase, type TestDatabase } from "@vakt/storage/testing";
import fc from "fast-check";
import pg from "pg";
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
import type { PendingMessage } from "./batch-items";
import { bytesOf, DEAD_LETTER_PAYLOAD_BYTES, type DeadLetterDecision, decide, rowsOf } from "./decide";
import { takeBatch } from "./lanes";
import { BATCH_MAX_BYTES, BatchWriter } from "./writer";

/** A pending dead letter carrying `bytes` of kept payload and `excerpt` characters: one row. */
const pendingOf = (bytes: number, excerpt: number): PendingMessage => ({
  decision: {
    kind: "dead_letter",
    row: { payload: Buffer.alloc(bytes), payloadExcerpt: "x".repeat(excerpt) },
  } as DeadLetterDecision,
  receivedAt: 0,
  ack: () => {},
  redelivered: false,
});

describe("takeBatch", () => {
  it("takes at least one message, then stops only at a bound or the end", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: 70_000 }), fc.nat({ max: 2_048 })), { maxLength: 60 }),
        fc.integer({ min: 1, max: 80 }),
        fc.integer({ min: 1, max: 300_000 }),
        (sizes, maxRows, maxBytes) => {
          const pending = sizes.map(([b, e]) => pendingOf(b, e));
          const { n, rows, bytes } = takeBatch(pending, maxRows, maxBytes);
          const taken = pending.slice(0, n);
          expect(rows).toBe(taken.reduce((s, p) => s + rowsOf(p.decision), 0));
          expect(bytes).toBe(taken.reduce((s, p) => s + bytesOf(p.decision), 0));
          if (pending.length === 0) {
            expect(n).toBe(0);
            return;
          }
          expect(n).toBeGreaterThanOrEqual(1);
          // Every message but the last taken left both bounds unmet.
          const before = takeSums(taken.slice(0, -1));
          if (n > 1) expect(before.rows < maxRows && before.bytes < maxBytes).toBe(true);
          // Stopped early only at a bound.
          if (n < pending.length) expect(rows >= maxRows || bytes >= maxBytes).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("the default byte bound", () => {
  it("keeps the largest batch of dead letters within what pg can spell as one parameter", () => {
    const keep = Buffer.alloc(DEAD_LETTER_PAYLOAD_BYTES, 0x61);
    // A batch under the bound before its last message: as many kept payloads as fit, and one more.
    const worst = Array.from({ length: Math.floor(BATCH_MAX_BYTES / keep.length) + 1 }, () => keep);
    expect(() => prepareValue(worst)).not.toThrow();
    // What rows alone allowed (INGEST_BATCH_MAX_ROWS dead letters) did not fit.
    expect(() => prepareValue(Array.from({ length: 5_000 }, () => keep))).toThrow(RangeError);
  });
});

function takeSums(items: PendingMessage[]) {
  return {
    rows: items.reduce((s, p) => s + rowsOf(p.decision), 0),
    bytes: items.reduce((s, p) => s + bytesOf(p.decision), 0),
  };
}

/** How pg turns a query parameter into text (a bytea[] becomes one hex string). */
const { prepareValue } = (pg as unknown as { utils: { prepareValue(v: unknown): unknown } }).utils;

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

describe("a lane of large dead letters", () => {
  it("commits in batches of at most the byte bound (and one message), and keeps every one", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 4, max: 24 }),
        fc.integer({ min: 64 * 1024, max: 512 * 1024 }),
        async (count, maxBytes) => {
          const topic = `vakt/v1/d/${device.serial}/up/position`;
          // Past INGEST_MAX_PAYLOAD_BYTES: each is a payload_too_large dead letter keeping 64 KiB.
          const decisions = Array.from({ length: count }, (_, i) =>
            decide(topic, Buffer.alloc(70_000 + i + run * 100, 0x61), Date.now(), () => refOf(device, org), {
              maxPayloadBytes: 65_536,
            }),
          );
          run++;
          const metrics = createMetrics();
          const w = new BatchWriter({
            pool: db.pool,
            logger: pino({ level: "silent" }),
            metrics,
            // Rows never close these batches, nor does time before every message is in.
            maxRows: 10_000,
            maxWaitMs: 1_000,
            maxBytes,
            maxConcurrent: 1,
          });
          const before = await deadLetterCount();
          let acked = 0;
          await new Promise<void>((resolve) => {
            for (const decision of decisions)
              w.add({
                decision,
                receivedAt: Date.now(),
                ack: () => ++acked === count && resolve(),
                redelivered: false,
              });
          });
          await w.drain();
          expect(await deadLetterCount()).toBe(before + count);
          const total = decisions.reduce((s, d) => s + bytesOf(d), 0);
          const h = (await metrics.batchBytes.get()).values;
          const batches = h.find((v) => v.metricName === "vakt_ingest_batch_bytes_count")?.value ?? 0;
          expect(h.find((v) => v.metricName === "vakt_ingest_batch_bytes_sum")?.value).toBe(total);
          // All were added before the first commit returned, so the lane cut them as takeBatch does.
          expect(batches).toBe(greedyBatches(decisions.map(pendingFor), maxBytes));
        },
      ),
      { numRuns: 6 },
    );
  });
});

const pendingFor = (decision: PendingMessage["decision"]): PendingMessage => ({
  decision,
  receivedAt: 0,
  ack: () => {},
});

function greedyBatches(pending: PendingMessage[], maxBytes: number): number {
  let batches = 0;
  for (let rest = pending; rest.length > 0; batches++) rest = rest.slice(takeBatch(rest, 10_000, maxBytes).n);
  return batches;
}

async function deadLetterCount(): Promise<number> {
  const r = await db.pool.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM dead_letters WHERE device_id = $1 AND reason = 'payload_too_large'",
    [device.id],
  );
  return r.rows[0]?.n ?? 0;
}
