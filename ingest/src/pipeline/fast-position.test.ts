/**
 * The position fast path against the schema it stands in for: over arbitrary
 * values (near-contract messages with values in and out of range, wrong types,
 * extra keys; and arbitrary JSON), whatever it accepts the schema accepts too,
 * with an equal result; and it does accept the contract's usual messages.
 */
import { positionMessage } from "@vakt/schemas";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fastPositionMessage } from "./fast-position";

const edgy = fc.oneof(
  fc.double({ noNaN: false }),
  fc.integer(),
  fc.constantFrom(0, -0, 90, -90, 180, -180, 360, 359.999, 100, 100.0001, 350, 100_000, -1_000, 20_000),
  fc.constantFrom(
    Date.UTC(2000, 0, 1),
    Date.UTC(2000, 0, 1) - 1,
    Date.UTC(2100, 0, 1),
    Date.UTC(2100, 0, 1) + 1,
  ),
  fc.integer({ min: Date.UTC(1999, 0, 1), max: Date.UTC(2101, 0, 1) }),
  fc.constant(1.5e12 + 0.5),
  fc.string({ maxLength: 5 }),
  fc.constantFrom("gps", "wifi", "cell", "other", "GPS", ""),
  fc.constant(null),
  fc.boolean(),
  fc.constant([]),
  fc.constant({}),
);

const fix = fc.record(
  {
    t: edgy,
    lat: edgy,
    lon: edgy,
    accM: edgy,
    speedMps: edgy,
    headingDeg: edgy,
    altM: edgy,
    source: edgy,
    batteryPct: edgy,
    extra: edgy,
  },
  { requiredKeys: [] },
);
const goodFix = fc.record(
  {
    t: fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) }),
    lat: fc.double({ min: -90, max: 90, noNaN: true }),
    lon: fc.double({ min: -180, max: 180, noNaN: true }),
    accM: fc.double({ min: 0, max: 100_000, noNaN: true }),
    headingDeg: fc.double({ min: 0, max: 359.99, noNaN: true }),
    source: fc.constantFrom("gps", "wifi", "cell", "other"),
    batteryPct: fc.double({ min: 0, max: 100, noNaN: true }),
  },
  { requiredKeys: ["t", "lat", "lon"] },
);
const FIX_KEYS = [
  "t",
  "lat",
  "lon",
  "accM",
  "speedMps",
  "headingDeg",
  "altM",
  "source",
  "batteryPct",
  "extra",
];
/** A valid fix with one key set to an edge value (or dropped): the cases a fast path gets wrong. */
const nearFix = fc
  .tuple(goodFix, fc.constantFrom(...FIX_KEYS), edgy, fc.boolean())
  .map(([f, key, value, drop]) => {
    const out: Record<string, unknown> = { ...f };
    if (drop) delete out[key];
    else out[key] = value;
    return out;
  });
const id = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9._:-]{1,64}$/),
  fc.string({ maxLength: 70 }),
  fc.constant(""),
  fc.integer(),
);
const message = fc.oneof(
  fc.record(
    { v: fc.constantFrom(1, 2, "1"), id, fix: fc.oneof(fix, goodFix) },
    { requiredKeys: ["v", "id"] },
  ),
  fc.record(
    { v: fc.constantFrom(1, 2), id, fixes: fc.array(fc.oneof(fix, goodFix), { maxLength: 102 }) },
    { requiredKeys: ["v", "id"] },
  ),
  fc.record({ v: fc.constant(1), id, fix: goodFix, fixes: fc.array(goodFix, { maxLength: 2 }) }),
  fc.record({ v: fc.constant(1), id, fix: goodFix, extra: edgy }),
  fc.record({ v: fc.constant(1), id, fix: nearFix }),
  fc.jsonValue(),
);

describe("fastPositionMessage", () => {
  it("accepts only what the schema accepts, and returns what the schema returns", () => {
    fc.assert(
      fc.property(message, (m) => {
        // As ingest sees it: JSON text parsed (no undefined, NaN becomes null, -0 stays).
        const text = JSON.stringify(m);
        if (text === undefined) return;
        const fast = fastPositionMessage(JSON.parse(text));
        if (fast === undefined) return;
        const schema = positionMessage.safeParse(JSON.parse(text));
        expect(schema.success).toBe(true);
        expect(fast).toEqual(schema.data);
      }),
      { numRuns: 5_000 },
    );
  });

  it("agrees with the schema on every boundary and wrong type of every field (exhaustively)", () => {
    const T0 = Date.UTC(2000, 0, 1);
    const T1 = Date.UTC(2100, 0, 1);
    const bounds: Record<string, unknown[]> = {
      t: [T0 - 1, T0, T1, T1 + 1, 1.5e12 + 0.5, 2 ** 53, -1],
      lat: [-90.000001, -90, 90, 90.000001],
      lon: [-180.000001, -180, 180, 180.000001],
      accM: [-0.000001, 0, 100_000, 100_000.000001],
      speedMps: [-0.000001, 0, 350, 350.000001],
      headingDeg: [-0.000001, 0, 359.999999, 360],
      altM: [-1_000.000001, -1_000, 20_000, 20_000.000001],
      source: ["gps", "wifi", "cell", "other", "GPS", "", "satellite"],
      batteryPct: [-0.000001, 0, 100, 100.000001],
      extra: [1],
    };
    const wrong = [null, "1", true, [], {}, -0];
    const base = { t: Date.UTC(2026, 0, 1), lat: 59.9, lon: 10.7 };
    const fixes: Record<string, unknown>[] = [];
    for (const [key, values] of Object.entries(bounds)) {
      for (const value of [...values, ...wrong]) fixes.push({ ...base, [key]: value });
      const without: Record<string, unknown> = { ...base };
      delete without[key];
      fixes.push(without);
    }
    const messages: unknown[] = [];
    for (const f of fixes) {
      messages.push({ v: 1, id: "m1", fix: f }, { v: 1, id: "m1", fixes: [base, f] });
    }
    for (const idValue of ["", "a".repeat(64), "a".repeat(65), "a b", "a/b", "ok.id_1:-", 1, null]) {
      messages.push({ v: 1, id: idValue, fix: base });
    }
    for (const v of [0, 2, "1", true, null]) messages.push({ v, id: "m1", fix: base });
    messages.push(
      { v: 1, id: "m1", fixes: [] },
      { v: 1, id: "m1", fixes: Array.from({ length: 100 }, () => base) },
      { v: 1, id: "m1", fixes: Array.from({ length: 101 }, () => base) },
      { v: 1, id: "m1", fix: base, fixes: [base] },
      { v: 1, id: "m1" },
      { v: 1, id: "m1", fix: base, x: 1 },
      { id: "m1", fix: base, x: 1 },
    );
    let accepted = 0;
    for (const m of messages) {
      const text = JSON.stringify(m);
      const fast = fastPositionMessage(JSON.parse(text));
      const schema = positionMessage.safeParse(JSON.parse(text));
      // Everything here is either clearly valid (both accept, equal) or invalid (neither accepts).
      expect({ text, fast: fast !== undefined }).toEqual({ text, fast: schema.success });
      if (fast) {
        accepted++;
        expect(fast).toEqual(schema.data);
      }
    }
    expect(accepted).toBeGreaterThan(50);
  });

  it("takes the contract's usual messages (so the fast path is the one taken)", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9._:-]{1,64}$/),
        goodFix,
        fc.array(goodFix, { minLength: 1, maxLength: 100 }),
        (messageId, one, many) => {
          for (const m of [
            { v: 1, id: messageId, fix: one },
            { v: 1, id: messageId, fixes: many },
          ]) {
            const text = JSON.stringify(m);
            const fast = fastPositionMessage(JSON.parse(text));
            expect(fast).toBeDefined();
            expect(fast).toEqual(positionMessage.parse(JSON.parse(text)));
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
