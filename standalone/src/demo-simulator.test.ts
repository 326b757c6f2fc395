/**
 * The demo's simulated devices must show on the map: whatever clock skew the simulator gives a demo
 * device, the time it stamps stays within what ingest accepts. With the simulator's default skew (2 %
 * of devices, up to 15 min either way) one demo device in 300 was refused for ever as
 * timestamp_in_future, and the stack test waiting for all three devices failed about once in 100 runs.
 */
import { SimulatedDevice, seededRandom, simOptions } from "@vakt/devices";
import { checkDeviceTime, MAX_FUTURE_SKEW_MS } from "@vakt/schemas";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEMO_SIMULATOR_OPTIONS } from "./stack";

describe("the demo simulator's device clocks", () => {
  it("stamp times ingest accepts, for any seed, with every device skewed", () => {
    // Every device skewed (skewRate 1): the demo's own rate only makes a bad clock rarer.
    const options = simOptions.parse({ ...DEMO_SIMULATOR_OPTIONS, skewRate: 1 });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.integer({ min: 0, max: 86_400_000 }),
        (seed, later) => {
          const now = Date.UTC(2026, 11, 8);
          const device = new SimulatedDevice(
            { serial: "DEMO-0001", secret: "s", home: { lat: 59.9139, lon: 10.7522 } },
            options,
            seededRandom(seed),
            now,
          );
          const t = device.deviceTime(now + later);
          expect(checkDeviceTime(t, now + later)).toBeUndefined();
          expect(Math.abs(t - (now + later))).toBeLessThan(MAX_FUTURE_SKEW_MS);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it("would not with the simulator's default skew (the test can fail)", () => {
    const options = simOptions.parse({ ...DEMO_SIMULATOR_OPTIONS, skewRate: 1, skewMaxMs: undefined });
    const now = Date.UTC(2026, 11, 8);
    const refused = Array.from({ length: 200 }, (_, seed) =>
      new SimulatedDevice(
        { serial: "DEMO-0001", secret: "s", home: { lat: 59.9139, lon: 10.7522 } },
        options,
        seededRandom(seed),
        now,
      ).deviceTime(now),
    ).filter((t) => checkDeviceTime(t, now) !== undefined);
    expect(refused.length).toBeGreaterThan(0);
  });
});
