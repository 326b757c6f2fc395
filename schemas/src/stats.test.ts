import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { percentile, percentiles } from "./stats";

// -0 is 0 here: which of the two an equal pair sorts first is no property of a percentile.
const value = fc.double({ noNaN: true }).map((x) => (x === 0 ? 0 : x));
const sample = fc.array(value, { minLength: 1, maxLength: 200 });
const quantile = fc.double({ min: 0, max: 1, noNaN: true });

describe("percentiles of a bench sample", () => {
  it("p0 is the minimum and p100 the maximum of any non-empty sample", () => {
    fc.assert(
      fc.property(sample, (xs) => {
        expect(percentile(xs, 0)).toBe(Math.min(...xs));
        expect(percentile(xs, 1)).toBe(Math.max(...xs));
        expect(percentiles(xs).max).toBe(Math.max(...xs));
      }),
    );
  });

  it("are monotone in q and a value of the sample", () => {
    fc.assert(
      fc.property(sample, quantile, quantile, (xs, a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(percentile(xs, lo)).toBeLessThanOrEqual(percentile(xs, hi));
        expect(xs).toContain(percentile(xs, lo));
      }),
    );
  });

  it("orders p50 ≤ p95 ≤ p99 ≤ max, counts the sample, and leaves it unsorted", () => {
    fc.assert(
      fc.property(sample, (xs) => {
        const before = [...xs];
        const s = percentiles(xs);
        expect(s.n).toBe(xs.length);
        expect(s.p50).toBeLessThanOrEqual(s.p95);
        expect(s.p95).toBeLessThanOrEqual(s.p99);
        expect(s.p99).toBeLessThanOrEqual(s.max);
        expect(xs).toEqual(before);
      }),
    );
  });

  it("is NaN for an empty sample", () => {
    expect(percentile([], 0.5)).toBeNaN();
    expect(percentiles([])).toEqual({
      n: 0,
      p50: Number.NaN,
      p95: Number.NaN,
      p99: Number.NaN,
      max: Number.NaN,
    });
  });
});
