import { describe, expect, it } from "vitest";
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
