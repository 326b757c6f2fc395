import { describe, expect, it } from "vitest";
import { chance, forkRandom, happensWithin, hex, integer, seededRandom } from "./random";

describe("seeded random", () => {
  it("repeats its sequence for the same seed and differs for another", () => {
    const a = Array.from({ length: 5 }, seededRandom(42).next);
    const b = seededRandom(42);
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(a);
    const c = seededRandom(43);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(a);
  });

  it("stays in [0, 1) and spreads evenly", () => {
    const r = seededRandom(7);
    const buckets = new Array(10).fill(0);
    let outside = 0;
    for (let i = 0; i < 100_000; i++) {
      const x = r.next();
      if (!(x >= 0 && x < 1)) outside++;
      buckets[Math.floor(x * 10)]++;
    }
    expect(outside).toBe(0);
    for (const b of buckets) expect(Math.abs(b - 10_000)).toBeLessThan(500);
  });

  it("forks independent, reproducible streams", () => {
    const f1 = forkRandom(seededRandom(1));
    const f2 = forkRandom(seededRandom(1));
    expect(f1.next()).toBe(f2.next());
  });

  it("helpers respect their bounds", () => {
    const r = seededRandom(3);
    for (let i = 0; i < 1000; i++) {
      const n = integer(r, 2, 4);
      expect(n >= 2 && n <= 4).toBe(true);
    }
    expect(hex(r, 16)).toMatch(/^[0-9a-f]{32}$/);
    expect(chance(r, 0)).toBe(false);
    expect(chance(r, 1)).toBe(true);
    expect(happensWithin(r, 0, 3600)).toBe(false);
  });

  it("events at a rate per hour happen about that often", () => {
    const r = seededRandom(9);
    let count = 0;
    // 1000 hours in 1-minute steps at 2 per hour: about 2000.
    for (let i = 0; i < 60_000; i++) if (happensWithin(r, 2, 60)) count++;
    expect(count).toBeGreaterThan(1800);
    expect(count).toBeLessThan(2200);
  });
});
