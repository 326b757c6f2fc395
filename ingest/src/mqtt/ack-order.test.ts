import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AckOrder, type Delivery } from "./ack-order";

afterEach(() => {
  vi.useRealTimers();
});

/** Delivers `n` messages (ids 1..n), then commits them in `order`, flushing after each. */
function run(n: number, order: number[], holdMaxMs = 1e9) {
  const written: number[][] = [];
  const acks = new AckOrder({ write: (ids) => written.push(ids), holdMaxMs });
  const ds: Delivery[] = [];
  for (let i = 1; i <= n; i++) ds.push(acks.delivered(i));
  const committed = new Set<number>();
  for (const i of order) {
    acks.committed(ds[i] as Delivery);
    committed.add(i + 1);
    acks.flush();
    // Never a PUBACK for a message not committed, nor one twice.
    const flat = written.flat();
    expect(flat.every((id) => committed.has(id))).toBe(true);
    expect(new Set(flat).size).toBe(flat.length);
  }
  acks.reset();
  return written;
}

describe("PUBACKs in delivery order", () => {
  it("writes each committed message once, in delivery order, as soon as all before it are committed", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }).chain((n) =>
          fc.tuple(
            fc.constant(n),
            fc.shuffledSubarray(
              Array.from({ length: n }, (_, i) => i),
              { minLength: 0, maxLength: n },
            ),
          ),
        ),
        ([n, order]) => {
          const written = run(n, order);
          const flat = written.flat();
          // In delivery order, and exactly the committed prefix: the first uncommitted one holds the rest.
          const committed = new Set(order);
          let prefix = 0;
          while (prefix < n && committed.has(prefix)) prefix++;
          expect(flat).toEqual(Array.from({ length: prefix }, (_, i) => i + 1));
        },
      ),
    );
  });

  it("commits twice or after the connection changed write nothing more", () => {
    const written: number[][] = [];
    const acks = new AckOrder({ write: (ids) => written.push(ids), holdMaxMs: 1e9 });
    const a = acks.delivered(7);
    acks.committed(a);
    acks.committed(a);
    acks.flush();
    acks.flush();
    expect(written).toEqual([[7]]);
    const b = acks.delivered(8);
    acks.reset();
    acks.committed(b);
    acks.flush();
    expect(written).toEqual([[7]]);
    expect(acks.pending).toBe(0);
  });

  it("writes a committed message held behind an uncommitted one once it has waited holdMaxMs", () => {
    vi.useFakeTimers();
    let now = 0;
    const written: number[][] = [];
    const acks = new AckOrder({ write: (ids) => written.push(ids), holdMaxMs: 200, now: () => now });
    const ds = [1, 2, 3, 4].map((id) => acks.delivered(id));
    // 1 never commits (left unacknowledged on purpose, or a lane still at work); 2 and 3 do.
    acks.committed(ds[1] as Delivery);
    acks.committed(ds[2] as Delivery);
    acks.flush();
    expect(written).toEqual([]);
    now = 150;
    vi.advanceTimersByTime(150);
    acks.committed(ds[3] as Delivery);
    acks.flush();
    expect(written).toEqual([]);
    now = 200;
    vi.advanceTimersByTime(50);
    expect(written).toEqual([[2, 3]]);
    // 4 committed at 150: written at 350, not before.
    now = 349;
    vi.advanceTimersByTime(149);
    expect(written).toEqual([[2, 3]]);
    now = 400;
    vi.advanceTimersByTime(51);
    expect(written).toEqual([[2, 3], [4]]);
    // 1 still counts as delivered and unacknowledged; once committed it is written at once.
    expect(acks.pending).toBe(4);
    acks.committed(ds[0] as Delivery);
    acks.flush();
    expect(written).toEqual([[2, 3], [4], [1]]);
    expect(acks.pending).toBe(0);
  });

  it("keeps its queue short behind a message that is never acknowledged", () => {
    vi.useFakeTimers();
    let now = 0;
    const written: number[] = [];
    const acks = new AckOrder({ write: (ids) => written.push(...ids), holdMaxMs: 200, now: () => now });
    acks.delivered(1);
    for (let i = 0; i < 100_000; i++) {
      acks.committed(acks.delivered(2 + (i % 60_000)));
      if (i % 1_000 === 999) {
        acks.flush();
        now += 100;
        vi.advanceTimersByTime(100);
      }
    }
    now += 1_000;
    vi.advanceTimersByTime(1_000);
    expect(written).toHaveLength(100_000);
    expect(acks.pending).toBeLessThan(8_192);
  });

  it("keeps its queue short over a long run (written entries at the front are cut)", () => {
    const acks = new AckOrder({ write: () => {}, holdMaxMs: 1e9 });
    for (let i = 0; i < 100_000; i++) {
      acks.committed(acks.delivered(i % 65_535));
      if (i % 1_000 === 999) acks.flush();
    }
    acks.flush();
    expect(acks.pending).toBe(0);
    expect((acks as unknown as { queue: unknown[] }).queue.length).toBeLessThan(8_192);
  });
});
