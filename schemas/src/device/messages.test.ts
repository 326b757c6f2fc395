import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkDeviceTime, EARLIEST_DEVICE_TIME_MS, MAX_FUTURE_SKEW_MS } from "../common";
import {
  ackMessage,
  alarmMessage,
  commandMessage,
  configMessage,
  defaultDeviceSettings,
  fixesOf,
  positionMessage,
  statusMessage,
} from "./messages";

const t = Date.UTC(2026, 10, 21, 12);
const fix = { t, lat: 59.9139, lon: 10.7522, accM: 8, speedMps: 1.2, headingDeg: 90, source: "gps" };

describe("position message", () => {
  it("accepts one fix and a batch, and fills the default source", () => {
    const one = positionMessage.parse({ v: 1, id: "m1", fix: { t, lat: 59.9, lon: 10.7 } });
    expect(fixesOf(one)).toEqual([{ t, lat: 59.9, lon: 10.7, source: "gps" }]);
    const batch = positionMessage.parse({ v: 1, id: "m2", fixes: [fix, { ...fix, t: t + 1000 }] });
    expect(fixesOf(batch).map((f) => f.t)).toEqual([t, t + 1000]);
  });

  it.each([
    ["lat +90", { lat: 90 }],
    ["lat -90", { lat: -90 }],
    ["lon +180", { lon: 180 }],
    ["lon -180", { lon: -180 }],
    ["heading 0", { headingDeg: 0 }],
    ["battery 0 %", { batteryPct: 0 }],
    ["battery 100 %", { batteryPct: 100 }],
  ])("accepts the edge value %s", (_, patch) => {
    expect(positionMessage.safeParse({ v: 1, id: "m", fix: { ...fix, ...patch } }).success).toBe(true);
  });

  it.each([
    ["lat 200", { lat: 200 }],
    ["lat just above 90", { lat: 90.000001 }],
    ["lon -180.5", { lon: -180.5 }],
    ["lat NaN", { lat: Number.NaN }],
    ["lon Infinity", { lon: Number.POSITIVE_INFINITY }],
    ["lat as string", { lat: "59.9" }],
    ["heading 360", { headingDeg: 360 }],
    ["negative speed", { speedMps: -1 }],
    ["battery 300 %", { batteryPct: 300 }],
    ["time before 2000", { t: EARLIEST_DEVICE_TIME_MS - 1 }],
    ["time in seconds, not ms", { t: Math.floor(t / 1000) }],
    ["time far in the future", { t: Date.UTC(2200, 0, 1) }],
    ["fractional ms", { t: t + 0.5 }],
    ["unknown source", { source: "psychic" }],
    ["unknown field", { colour: "red" }],
  ])("rejects %s", (_, patch) => {
    expect(positionMessage.safeParse({ v: 1, id: "m", fix: { ...fix, ...patch } }).success).toBe(false);
  });

  it("rejects a missing or wrong version, a bad id, an empty or oversized batch", () => {
    expect(positionMessage.safeParse({ id: "m", fix }).success).toBe(false);
    expect(positionMessage.safeParse({ v: 2, id: "m", fix }).success).toBe(false);
    expect(positionMessage.safeParse({ v: 1, id: "", fix }).success).toBe(false);
    expect(positionMessage.safeParse({ v: 1, id: "a/b", fix }).success).toBe(false);
    expect(positionMessage.safeParse({ v: 1, id: "m", fixes: [] }).success).toBe(false);
    expect(positionMessage.safeParse({ v: 1, id: "m", fixes: Array(101).fill(fix) }).success).toBe(false);
  });

  it("rejects a 1 MB string in any text field without trouble", () => {
    const huge = "x".repeat(1024 * 1024);
    expect(positionMessage.safeParse({ v: 1, id: huge, fix }).success).toBe(false);
    expect(statusMessage.safeParse({ v: 1, id: "s", t, firmware: huge }).success).toBe(false);
    expect(alarmMessage.safeParse({ v: 1, id: "a", t, type: huge }).success).toBe(false);
  });

  it("accepts every in-range fix and rejects every out-of-range latitude (property)", () => {
    fc.assert(
      fc.property(
        fc.double({ min: -90, max: 90, noNaN: true }),
        fc.double({ min: -180, max: 180, noNaN: true }),
        fc.integer({ min: EARLIEST_DEVICE_TIME_MS, max: Date.UTC(2099, 0, 1) }),
        (lat, lon, ms) => positionMessage.safeParse({ v: 1, id: "p", fix: { t: ms, lat, lon } }).success,
      ),
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.double({ min: 90, noNaN: true, minExcluded: true }),
          fc.double({ max: -90, noNaN: true, maxExcluded: true }),
        ),
        (lat) => !positionMessage.safeParse({ v: 1, id: "p", fix: { t, lat, lon: 0 } }).success,
      ),
    );
  });

  it("never throws on arbitrary JSON (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        for (const s of [
          positionMessage,
          statusMessage,
          alarmMessage,
          configMessage,
          ackMessage,
          commandMessage,
        ]) {
          s.safeParse(value);
        }
        return true;
      }),
    );
  });
});

describe("device clock", () => {
  it("allows small skew and refuses time travel", () => {
    expect(checkDeviceTime(t + MAX_FUTURE_SKEW_MS, t)).toBeUndefined();
    expect(checkDeviceTime(t + MAX_FUTURE_SKEW_MS + 1, t)).toBe("in_the_future");
    expect(checkDeviceTime(EARLIEST_DEVICE_TIME_MS - 1, t)).toBe("before_2000");
  });
});

describe("status, alarm and downlink messages", () => {
  it("accepts a full status with reported configuration", () => {
    const s = statusMessage.parse({
      v: 1,
      id: "s1",
      t,
      batteryPct: 54,
      charging: false,
      signalDbm: -71,
      firmware: "2.4.1",
      reportedConfig: { version: 3, settings: defaultDeviceSettings },
    });
    expect(s.reportedConfig?.version).toBe(3);
    expect(statusMessage.safeParse({ v: 1, id: "s1", t, signalDbm: 5 }).success).toBe(false);
  });

  it("accepts device alarm types and refuses platform ones", () => {
    expect(alarmMessage.parse({ v: 1, id: "a1", t, type: "sos", fix }).type).toBe("sos");
    expect(alarmMessage.parse({ v: 1, id: "a2", t, type: "fall", cancels: "a0" }).cancels).toBe("a0");
    expect(alarmMessage.safeParse({ v: 1, id: "a3", t, type: "geofence_exit" }).success).toBe(false);
    expect(
      alarmMessage.safeParse({ v: 1, id: "a4", t, type: "sos", fix: { ...fix, lat: -91 } }).success,
    ).toBe(false);
  });

  it("validates configuration, acknowledgements and commands", () => {
    expect(configMessage.parse({ v: 1, version: 2, settings: defaultDeviceSettings }).version).toBe(2);
    expect(
      configMessage.safeParse({
        v: 1,
        version: 2,
        settings: { ...defaultDeviceSettings, reportIntervalS: 1 },
      }).success,
    ).toBe(false);
    expect(
      configMessage.safeParse({
        v: 1,
        version: 2,
        settings: { ...defaultDeviceSettings, alarmNumber: "12345" },
      }).success,
    ).toBe(false);
    const alarmId = "0b6f1a52-3f1e-4d0a-9d0c-1f2e3d4c5b6a";
    expect(ackMessage.parse({ v: 1, ackOf: "a1", status: "received", alarmId, at: t }).status).toBe(
      "received",
    );
    expect(ackMessage.safeParse({ v: 1, ackOf: "a1", status: "maybe", alarmId, at: t }).success).toBe(false);
    expect(commandMessage.parse({ v: 1, id: "c1", command: "track", untilMs: t }).command).toBe("track");
    expect(commandMessage.safeParse({ v: 1, id: "c1", command: "track" }).success).toBe(false);
  });
});
