/**
 * The redelivery gate's order: a resumed session redelivers thousands of positions at once, and an
 * alarm among them is counted (and handed on) before them, alarms in their own order (a
 * cancellation after the alarm it cancels). The pool is a stand-in that counts every message once.
 */
import fc from "fast-check";
import type pg from "pg";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { createMetrics } from "../metrics";
import { type Redelivered, RedeliveryGate } from "./redeliveries";

type Msg = Redelivered & { name: string };

function gateInto(handled: string[]) {
  const pool = {
    query: async (_sql: string, values: [string[], string[], number[]]) => ({
      rows: values[0].map((topic, i) => ({ topic, sha: values[1][i], deliveries: 1 })),
    }),
  } as unknown as pg.Pool;
  return new RedeliveryGate<Msg>({
    pool,
    max: 5,
    logger: pino({ level: "silent" }),
    metrics: createMetrics({ defaultMetrics: false }),
    handle: (m) => handled.push(m.name),
    refuse: () => {},
    track: () => {},
    stopping: () => false,
  });
}

describe("the redelivery gate", () => {
  it("hands redelivered alarms on before the positions that came with them, in their own order", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.boolean(), { minLength: 1, maxLength: 60 }), async (kinds) => {
        const handled: string[] = [];
        const gate = gateInto(handled);
        const sent = kinds.map((alarm, i) => ({
          name: `${alarm ? "a" : "p"}${i}`,
          topic: `vakt/v1/d/DEV-1/up/${alarm ? "alarm" : "position"}`,
          payload: Buffer.from(`{"id":"${i}"}`),
          ack: () => {},
          nack: undefined,
        }));
        for (const m of sent) gate.push(m);
        await new Promise((r) => setTimeout(r, 0));
        await new Promise((r) => setImmediate(r));
        const alarms = sent.filter((m) => m.name.startsWith("a")).map((m) => m.name);
        const positions = sent.filter((m) => m.name.startsWith("p")).map((m) => m.name);
        // The first message starts the count on its own; everything after it waits for the next
        // statement, where the alarms come first.
        const [first, ...rest] = sent.map((m) => m.name);
        expect(handled[0]).toBe(first);
        const restAlarms = alarms.filter((n) => n !== first);
        const restPositions = positions.filter((n) => n !== first);
        expect(handled.slice(1)).toEqual([...restAlarms, ...restPositions]);
        expect(handled).toHaveLength(rest.length + 1);
      }),
      { numRuns: 100 },
    );
  });
});
