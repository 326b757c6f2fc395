import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { coalescing } from "./coalesce";

/** Lets the batcher's promise chain (start, finally, reschedule) run. */
const settle = () => new Promise((r) => setImmediate(r));

describe("coalescing device events", () => {
  it("one batch in flight at a time; every key asked for is in a batch started after it; repeats share one", async () => {
    const command = fc.oneof(
      fc.record({ op: fc.constant("add" as const), key: fc.constantFrom("a", "b", "c", "d") }),
      fc.record({ op: fc.constant("start" as const) }),
      fc.record({ op: fc.constant("finish" as const) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(command, { maxLength: 60 }), async (commands) => {
        const deferred: (() => void)[] = [];
        const batches: { keys: string[]; startedAt: number }[] = [];
        let inFlight: (() => void) | null = null;
        let clock = 0;
        const adds: { key: string; at: number }[] = [];
        const c = coalescing(
          (keys) =>
            new Promise<void>((resolve) => {
              expect(inFlight).toBeNull();
              batches.push({ keys: [...keys], startedAt: clock++ });
              inFlight = () => {
                inFlight = null;
                resolve();
              };
            }),
          (err) => {
            throw err;
          },
          (start) => deferred.push(start),
        );
        const step = async (cmd: (typeof commands)[number]) => {
          if (cmd.op === "add") {
            adds.push({ key: cmd.key, at: clock++ });
            c.add(cmd.key);
          } else if (cmd.op === "start") deferred.shift()?.();
          else (inFlight as (() => void) | null)?.();
          await settle();
        };
        for (const cmd of commands) await step(cmd);
        // Drain: run what is deferred and finish what is in flight until nothing is left.
        while (deferred.length > 0 || inFlight) {
          await step({ op: "start" });
          await step({ op: "finish" });
        }
        expect(c.pendingCount()).toBe(0);
        for (const { key, at } of adds)
          expect(batches.some((b) => b.startedAt > at && b.keys.includes(key))).toBe(true);
        // Never more batches than adds, and a key is asked for at most once per batch.
        expect(batches.length).toBeLessThanOrEqual(adds.length);
        for (const b of batches) expect(new Set(b.keys).size).toBe(b.keys.length);
      }),
      { numRuns: 300 },
    );
  });

  it("twenty events for one device before the batch starts are one batch of one key", async () => {
    const batches: string[][] = [];
    const c = coalescing(
      async (keys) => {
        batches.push([...keys]);
      },
      (err) => {
        throw err;
      },
    );
    for (let i = 0; i < 20; i++) c.add("device-1");
    await settle();
    await settle();
    expect(batches).toEqual([["device-1"]]);
  });

  it("a failing batch is reported and does not stop later ones", async () => {
    const errors: unknown[] = [];
    const seen: string[][] = [];
    const c = coalescing(
      async (keys) => {
        seen.push([...keys]);
        if (keys.has("bad")) throw new Error("boom");
      },
      (err) => errors.push(err),
    );
    c.add("bad");
    await settle();
    await settle();
    c.add("good");
    await settle();
    await settle();
    expect(seen).toEqual([["bad"], ["good"]]);
    expect(errors).toHaveLength(1);
  });
});
