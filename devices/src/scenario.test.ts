import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadScenario, parseDuration, parseScenario } from "./scenario";

const dir = join(import.meta.dirname, "..", "scenarios");

const minimal = {
  name: "t",
  devices: [{ serial: "SN-1", home: { lat: 59.9, lon: 10.7 } }],
  timeline: [{ at: "+30s", device: "SN-1", event: "sos" }],
};

describe("durations", () => {
  it.each([
    ["+30s", 30_000],
    ["2m", 120_000],
    ["1h30m", 5_400_000],
    ["+1m30s", 90_000],
    ["500ms", 500],
    ["1.5s", 1500],
    ["0s", 0],
  ])("%s is %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(["", "+", "30", "abc", "1d", "-5s", "5 minutes"])("refuses %j", (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe("scenario files", () => {
  it("parses a minimal scenario, quiet by default, ending a minute after the last event", () => {
    const s = parseScenario(minimal);
    expect(s.timeline).toEqual([{ atMs: 30_000, device: "SN-1", event: { event: "sos" } }]);
    expect(s.endMs).toBe(90_000);
    expect(s.options).toMatchObject({ sosPerHour: 0, redeliveryRate: 0, skewRate: 0 });
  });

  it("sorts the timeline and turns numbers into seconds", () => {
    const s = parseScenario({
      ...minimal,
      timeline: [
        { at: 90, device: "SN-1", event: "silence", for: "5m" },
        { at: "+10s", device: "SN-1", event: "fall", cancelAfter: 15 },
      ],
    });
    expect(s.timeline.map((e) => e.event)).toEqual([
      { event: "fall", cancelAfterMs: 15_000 },
      { event: "silence", forMs: 300_000 },
    ]);
  });

  it.each([
    ["an unknown device", { timeline: [{ at: "1s", device: "SN-9", event: "sos" }] }],
    ["an unknown event", { timeline: [{ at: "1s", device: "SN-1", event: "explode" }] }],
    ["a bad duration", { timeline: [{ at: "soon", device: "SN-1", event: "sos" }] }],
    ["an unknown field", { timeline: [{ at: "1s", device: "SN-1", event: "sos", loud: true }] }],
    ["an unknown malformation", { timeline: [{ at: "1s", device: "SN-1", event: "malformed", kind: "x" }] }],
    ["a bad option", { options: { sosPerHour: -1 } }],
    ["a latitude of 200", { devices: [{ serial: "SN-1", home: { lat: 200, lon: 0 } }] }],
  ])("refuses %s", (_, change) => {
    expect(() => parseScenario({ ...minimal, ...change })).toThrow(/invalid scenario/);
  });

  it("loads every example under scenarios/", async () => {
    const files = (await readdir(dir)).filter((f) => f.endsWith(".json"));
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const f of files) {
      const s = await loadScenario(join(dir, f));
      expect(s.timeline.length).toBeGreaterThan(0);
    }
  });

  it("keeps wearers home in the geofence example until they are told to walk", async () => {
    const s = await loadScenario(join(dir, "wanders-out-of-geofence.json"));
    expect(s.options.movement.dwellHomeMinS).toBeGreaterThan(s.endMs / 1000);
    expect(s.options).toMatchObject({ tracking: true, reportIntervalS: 30 });
  });
});
