import { describe, expect, it } from "vitest";
import { markerState, OUTDATED_AFTER_MS, type RecipientSnapshot } from "./marker-state";

const now = Date.UTC(2026, 10, 21, 3, 0);
const fine: RecipientSnapshot = {
  openAlarms: 0,
  online: true,
  batteryPct: 80,
  lowBatteryPct: 20,
  lastFixAt: now,
};

describe("markerState", () => {
  it("shows the most urgent state", () => {
    expect(markerState(fine, now)).toBe("fine");
    expect(markerState({ ...fine, openAlarms: 1, online: false, batteryPct: 5 }, now)).toBe("alarm");
    expect(markerState({ ...fine, online: false, batteryPct: 5 }, now)).toBe("no_contact");
    expect(markerState({ ...fine, batteryPct: 20 }, now)).toBe("low_battery");
    expect(markerState({ ...fine, batteryPct: null }, now)).toBe("fine");
  });

  it("calls a position outdated only past the limit", () => {
    expect(markerState({ ...fine, lastFixAt: now - OUTDATED_AFTER_MS }, now)).toBe("fine");
    expect(markerState({ ...fine, lastFixAt: now - OUTDATED_AFTER_MS - 1 }, now)).toBe("outdated");
    expect(markerState({ ...fine, lastFixAt: null }, now)).toBe("outdated");
  });
});
