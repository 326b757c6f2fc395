import { describe, expect, it } from "vitest";
import { type BatteryState, defaultBatteryParams, isDead, reportedPct, stepBattery } from "./battery";
import { seededRandom } from "./random";

const full: BatteryState = { pct: 100, charging: false, plugInAtPct: 20 };
const neverPlugs = { ...defaultBatteryParams, plugInPerHour: 0 };

describe("battery", () => {
  it("drains at the idle rate, faster while tracking", () => {
    const r = seededRandom(1);
    const idle = stepBattery(full, 3600, { tracking: false }, r, neverPlugs);
    const tracking = stepBattery(full, 3600, { tracking: true }, r, neverPlugs);
    expect(idle.pct).toBeCloseTo(100 - defaultBatteryParams.idleDrainPctPerHour, 6);
    expect(tracking.pct).toBeCloseTo(
      100 - defaultBatteryParams.idleDrainPctPerHour - defaultBatteryParams.trackingDrainPctPerHour,
      6,
    );
  });

  it("goes flat and off, never below 0, when nobody charges it", () => {
    const r = seededRandom(2);
    let b = full;
    for (let h = 0; h < 200; h++) b = stepBattery(b, 3600, { tracking: true }, r, neverPlugs);
    expect(b.pct).toBe(0);
    expect(isDead(b)).toBe(true);
  });

  it("charges to full and is unplugged", () => {
    const r = seededRandom(3);
    let b: BatteryState = { pct: 10, charging: true, plugInAtPct: 20 };
    b = stepBattery(b, 3600, { tracking: false }, r);
    expect(b.pct).toBeCloseTo(10 + defaultBatteryParams.chargePctPerHour, 6);
    expect(isDead({ ...b, pct: 0 })).toBe(false);
    b = stepBattery(b, 3 * 3600, { tracking: false }, r);
    expect(b).toMatchObject({ pct: 100, charging: false });
  });

  it("gets plugged in once low, and only then", () => {
    const r = seededRandom(4);
    const always = { ...defaultBatteryParams, plugInPerHour: 3600 };
    expect(stepBattery(full, 60, { tracking: false }, r, always).charging).toBe(false);
    expect(stepBattery({ ...full, pct: 15 }, 60, { tracking: false }, r, always).charging).toBe(true);
  });

  it("stays within 0-100 over long mixed runs", () => {
    const r = seededRandom(5);
    let b = full;
    let charged = 0;
    let min = 100;
    let max = 0;
    for (let i = 0; i < 24 * 60 * 30; i++) {
      const before = b.charging;
      b = stepBattery(b, 60, { tracking: i % 3 === 0 }, r);
      if (!before && b.charging) charged++;
      min = Math.min(min, b.pct);
      max = Math.max(max, b.pct);
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThanOrEqual(100);
    expect(charged).toBeGreaterThan(0);
    expect(reportedPct({ ...b, pct: 33.6 })).toBe(34);
  });
});
