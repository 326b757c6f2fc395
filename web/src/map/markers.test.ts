import { describe, expect, it } from "vitest";
import { type KnownDevice, type KnownPosition, recipientMarkers, worstState } from "./markers";

const now = Date.parse("2026-11-21T03:00:00Z");
const pos = (id: string, over: Partial<KnownPosition> = {}): KnownPosition => ({
  recipientId: id,
  name: `R ${id}`,
  departmentId: "d",
  lat: 59.9,
  lon: 10.7,
  accuracyM: 10,
  time: "2026-11-21T02:59:00Z",
  batteryPercent: 80,
  ...over,
});
const dev = (recipientId: string, over: Partial<KnownDevice> = {}): KnownDevice => ({
  deviceId: `dev-${recipientId}`,
  recipientId,
  online: true,
  batteryPercent: 80,
  lowBatteryPct: 20,
  lastSeenAt: "2026-11-21T02:59:30Z",
  ...over,
});

describe("recipient markers", () => {
  it("combines positions, devices and alarms into one state per recipient", () => {
    const markers = recipientMarkers(
      [pos("a"), pos("b"), pos("c"), pos("d"), pos("e", { time: "2026-11-20T20:00:00Z" })],
      new Map([
        ["a", dev("a")],
        ["b", dev("b", { online: false })],
        ["c", dev("c", { batteryPercent: 15 })],
        ["e", dev("e")],
      ]),
      new Map([["d", 1]]),
      now,
    );
    expect(Object.fromEntries(markers.map((m) => [m.recipientId, m.state]))).toEqual({
      a: "fine",
      b: "no_contact",
      c: "low_battery",
      d: "alarm",
      e: "outdated",
    });
  });

  it("uses the fix's battery when devices cannot be read", () => {
    const [m] = recipientMarkers([pos("a", { batteryPercent: 5 })], new Map(), new Map(), now);
    expect(m?.state).toBe("low_battery");
    expect(m?.online).toBeNull();
  });

  it("gives a cluster its most urgent member's state", () => {
    expect(worstState(["fine", "outdated", "low_battery"])).toBe("low_battery");
    expect(worstState(["fine", "alarm", "no_contact"])).toBe("alarm");
    expect(worstState([])).toBe("fine");
  });
});
