import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type ConditionType,
  type DeviceSnapshot,
  defaultConditionOptions,
  evaluateConditions,
  supervisionMs,
  withinDailyWindow,
} from "./conditions";

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0); // 13:00 in Oslo (winter)
const base: DeviceSnapshot = {
  device: { id: "d", serial: "S", organisationId: "o", departmentId: "p", recipientId: "r" },
  lastSeenAt: NOW,
  offlineSince: null,
  batteryPct: 80,
  charging: false,
  desiredConfig: { heartbeatIntervalS: 600, lowBatteryPct: 20 },
  latestFix: { t: NOW, lat: 59.9139, lon: 10.7522, accM: 10 },
  geofences: [],
  timeZone: "Europe/Oslo",
};
const none = () => undefined;
const verdict = (s: DeviceSnapshot, type: ConditionType, prev: boolean | undefined = undefined) =>
  evaluateConditions(s, () => prev, NOW).find((v) => v.type === type)?.active;

describe("no contact after a last will", () => {
  const grace = 120_000;
  it("comes a grace after the device went away, long before its heartbeat is due", () => {
    const gone = { ...base, lastSeenAt: NOW - 60_000 };
    expect(verdict({ ...gone, offlineSince: NOW - grace + 1 }, "no_contact")).toBe(false);
    expect(verdict({ ...gone, offlineSince: NOW - grace }, "no_contact")).toBe(true);
    const v = evaluateConditions({ ...gone, offlineSince: NOW - grace }, none, NOW).find(
      (x) => x.type === "no_contact",
    );
    expect(v?.details).toMatchObject({ reason: "went_away", graceS: 120 });
  });
  it("takes the configured grace", () => {
    const s = { ...base, offlineSince: NOW - 5_000 };
    const at = (ms: number) =>
      evaluateConditions(s, none, NOW, { ...defaultConditionOptions, lastWillGraceMs: ms }).find(
        (v) => v.type === "no_contact",
      )?.active;
    expect(at(5_000)).toBe(true);
    expect(at(5_001)).toBe(false);
  });
  it("counts for a device never heard from otherwise", () => {
    expect(verdict({ ...base, lastSeenAt: null, offlineSince: NOW - grace }, "no_contact")).toBe(true);
  });
  it("is active exactly when silent past supervision or gone past the grace (generated)", () => {
    const limit = supervisionMs(600);
    fc.assert(
      fc.property(
        fc.option(fc.integer({ min: 0, max: 2 * limit })),
        fc.option(fc.integer({ min: 0, max: 2 * grace })),
        (seenAgo, goneAgo) => {
          const s = {
            ...base,
            lastSeenAt: seenAgo === null ? null : NOW - seenAgo,
            offlineSince: goneAgo === null ? null : NOW - goneAgo,
          };
          const expected = (seenAgo !== null && seenAgo > limit) || (goneAgo !== null && goneAgo >= grace);
          const got = verdict(s, "no_contact");
          if (seenAgo === null && goneAgo === null) return got === undefined;
          return got === expected;
        },
      ),
    );
  });
});

describe("no contact", () => {
  it("starts after the heartbeat interval plus grace", () => {
    const limit = supervisionMs(600);
    expect(limit).toBe(720_000);
    expect(verdict({ ...base, lastSeenAt: NOW - limit }, "no_contact")).toBe(false);
    expect(verdict({ ...base, lastSeenAt: NOW - limit - 1 }, "no_contact")).toBe(true);
  });
  it("uses the default interval when the device has no settings, and ignores never-seen devices", () => {
    expect(verdict({ ...base, desiredConfig: {}, lastSeenAt: NOW - 1_000_000 }, "no_contact")).toBe(false);
    expect(verdict({ ...base, desiredConfig: {}, lastSeenAt: NOW - 1_100_000 }, "no_contact")).toBe(true);
    expect(
      evaluateConditions({ ...base, lastSeenAt: null }, none, NOW).some((v) => v.type === "no_contact"),
    ).toBe(false);
  });
});

describe("low battery, once per discharge", () => {
  it.each([
    [20, false, undefined, true],
    [25, false, true, true],
    [25, false, false, false],
    [30, false, true, false],
    [10, true, true, false],
  ])("battery %i %%, charging %s, was %s -> %s", (pct, charging, was, expected) => {
    expect(verdict({ ...base, batteryPct: pct, charging }, "low_battery", was)).toBe(expected);
  });
});

describe("geofences with hysteresis and windows", () => {
  const home = {
    id: "g1",
    name: "Home",
    shape: { kind: "circle" as const, center: { lat: 59.9139, lon: 10.7522 }, radiusM: 200 },
    alarmOn: "exit" as const,
    windowStart: null,
    windowEnd: null,
  };
  const at = (metresNorth: number, accM = 10): DeviceSnapshot => ({
    ...base,
    geofences: [home],
    latestFix: { t: NOW, lat: 59.9139 + metresNorth / 111_195, lon: 10.7522, accM },
  });
  it("raises on leaving, keeps the state within the margin, clears well inside", () => {
    expect(verdict(at(100), "geofence_exit", false)).toBe(false);
    expect(verdict(at(260), "geofence_exit", false)).toBe(true);
    expect(verdict(at(210), "geofence_exit", false)).toBe(false);
    expect(verdict(at(210), "geofence_exit", true)).toBe(true);
    expect(verdict(at(190), "geofence_exit", true)).toBe(true);
    expect(verdict(at(150), "geofence_exit", true)).toBe(false);
  });
  it("widens the margin by a poor fix's accuracy", () => {
    expect(verdict(at(300, 150), "geofence_exit", false)).toBe(false);
    expect(verdict(at(400, 150), "geofence_exit", false)).toBe(true);
  });
  it("alarms on entering a zone marked enter", () => {
    const keepOut = { ...home, alarmOn: "enter" as const };
    const s = (m: number) => ({ ...at(m), geofences: [keepOut] });
    expect(verdict(s(0), "geofence_enter", false)).toBe(true);
    expect(verdict(s(1_000), "geofence_enter", true)).toBe(false);
    expect(evaluateConditions(s(0), none, NOW).some((v) => v.type === "geofence_exit")).toBe(false);
  });
  it("only within its daily window, which may wrap midnight", () => {
    const night = { ...home, windowStart: "22:00", windowEnd: "07:00" };
    expect(verdict({ ...at(1_000), geofences: [night] }, "geofence_exit")).toBe(false);
    expect(withinDailyWindow(NOW, "Europe/Oslo", "12:30", "13:30")).toBe(true);
    expect(withinDailyWindow(NOW, "UTC", "12:30", "13:30")).toBe(false);
    expect(withinDailyWindow(Date.UTC(2026, 0, 15, 23, 0), "Europe/Oslo", "22:00:00", "07:00:00")).toBe(true);
    expect(withinDailyWindow(Date.UTC(2026, 0, 15, 5, 0), "Europe/Oslo", "22:00", "07:00")).toBe(true);
    expect(withinDailyWindow(Date.UTC(2026, 0, 15, 9, 0), "Europe/Oslo", "22:00", "07:00")).toBe(false);
  });
});

describe("outdated position", () => {
  it("after seven days without a new fix", () => {
    const day = 86_400_000;
    expect(
      verdict({ ...base, latestFix: { t: NOW - 6 * day, lat: 1, lon: 1, accM: null } }, "outdated_position"),
    ).toBe(false);
    expect(
      verdict({ ...base, latestFix: { t: NOW - 8 * day, lat: 1, lon: 1, accM: null } }, "outdated_position"),
    ).toBe(true);
  });
});
