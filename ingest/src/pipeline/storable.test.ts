import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_JSON_DEPTH, parseDeviceJson, storableHeading, storableReal } from "./storable";

const nested = (depth: number, open: string, close: string, inner = "1") =>
  `${open.repeat(depth)}${inner}${close.repeat(depth)}`;

describe("parseDeviceJson", () => {
  it("parses every JSON value up to the depth bound as JSON.parse does", () => {
    fc.assert(
      fc.property(fc.jsonValue({ depthSize: "medium", maxDepth: MAX_JSON_DEPTH - 1 }), (v) => {
        const text = JSON.stringify(v);
        const r = parseDeviceJson(text);
        expect(r).toEqual({ ok: true, value: JSON.parse(text) });
      }),
    );
  });

  it("refuses nesting past the bound, whatever brackets and strings surround it, without throwing", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: MAX_JSON_DEPTH + 1, max: 20_000 }),
        fc.constantFrom(["[", "]"], ['{"a":', "}"], ['[{"k":[', "]}]"]),
        fc.string(),
        (depth, [open, close], s) => {
          const r = parseDeviceJson(
            `{"s":${JSON.stringify(s)},"x":${nested(depth, open as string, close as string)}}`,
          );
          expect(r).toEqual({ ok: false, detail: `nested deeper than ${MAX_JSON_DEPTH} levels` });
        },
      ),
    );
  });

  it("does not count brackets inside strings, escaped quotes included", () => {
    const inner = JSON.stringify(`\\"${"[".repeat(500)}`);
    expect(parseDeviceJson(`{"a":${inner}}`).ok).toBe(true);
  });

  it("never throws on arbitrary text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 400 }), (s) => {
        const r = parseDeviceJson(s);
        expect(typeof r.ok).toBe("boolean");
      }),
    );
  });
});

/** Halfway between the largest float4 and the next power of two: from here on, a float4 rounds to infinity. */
const FLOAT4_OVERFLOW = 2 ** 128 - 2 ** 103;

describe("storableReal", () => {
  it("gives, for any double, a float4 that is not -0 and is as near as a float4 can be, or null past a float4's range", () => {
    fc.assert(
      fc.property(fc.double(), (x) => {
        const r = storableReal(x);
        // Past the largest float4 by more than half a step, x rounds to infinity: no float4 holds it.
        if (!Number.isFinite(x) || Math.abs(x) >= FLOAT4_OVERFLOW) {
          expect(r).toBeNull();
          return;
        }
        expect(r).not.toBeNull();
        const f = r as number;
        expect(Math.fround(f)).toBe(f);
        expect(Object.is(f, -0)).toBe(false);
        // No float4 lies nearer to x (one step up or down is at least as far).
        const step = Math.max(Math.abs(f) * 2 ** -23, 2 ** -149);
        expect(Math.abs(f - x)).toBeLessThanOrEqual(
          Math.min(Math.abs(Math.fround(f + step) - x), Math.abs(Math.fround(f - step) - x)),
        );
      }),
    );
  });

  it("keeps any heading in [0, 360) inside it, as a float4", () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 360, maxExcluded: true, noNaN: true }), (x) => {
        const h = storableHeading(x) as number;
        expect(h).toBeGreaterThanOrEqual(0);
        expect(h).toBeLessThan(360);
        expect(Math.fround(h)).toBe(h);
      }),
    );
    expect(storableHeading(359.99999)).toBe(0);
    expect(storableHeading(null)).toBeNull();
  });
});
