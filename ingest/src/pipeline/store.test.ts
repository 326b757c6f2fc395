import { describe, expect, it } from "vitest";
import { iso } from "./copy";
import type { PositionRow } from "./decide";
import { newestPerDevice } from "./rows";

const row = (deviceId: string, time: number): PositionRow => ({
  time,
  deviceId,
  organisationId: "o",
  recipientId: null,
  messageId: `m${time}`,
  lat: 60,
  lon: 10,
  accuracyM: null,
  speedMps: null,
  headingDeg: null,
  altitudeM: null,
  source: "gps",
  batteryPct: null,
});

describe("newestPerDevice", () => {
  it("keeps the newest fix of each device, sorted by device id", () => {
    const out = newestPerDevice([row("b", 5), row("a", 1), row("b", 9), row("a", 3), row("b", 7)]);
    expect(out.map((r) => [r.deviceId, r.time])).toEqual([
      ["a", 3],
      ["b", 9],
    ]);
  });
});

describe("iso", () => {
  it("formats like Date.prototype.toISOString for device times", () => {
    const times = [
      Date.UTC(2000, 0, 1),
      Date.UTC(2026, 10, 22, 2, 8, 24, 7),
      Date.UTC(2099, 11, 31, 23, 59, 59, 999),
    ];
    for (let i = 0; i < 10_000; i++) times.push(Date.UTC(2000, 0, 1) + Math.floor(Math.random() * 3.2e12));
    for (const t of times) expect(iso(t)).toBe(new Date(t).toISOString());
  });
});
