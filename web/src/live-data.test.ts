import { currentPositions, type Device, type LivePosition } from "@vakt/schemas";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fetchedPositions, type Positions, withDeviceChange, withLivePosition } from "./live-data";

const recipients = ["r1", "r2", "r3"].map((n) => `10000000-0000-4000-8000-00000000000${n.slice(1)}`);
const at = (minute: number) => new Date(Date.UTC(2026, 11, 3, 2, minute)).toISOString();

const livePosition = fc.record({
  recipientId: fc.constantFrom(...recipients),
  minute: fc.integer({ min: 0, max: 59 }),
  lat: fc.double({ min: 58, max: 62, noNaN: true }),
  lon: fc.double({ min: 5, max: 12, noNaN: true }),
});
const asLive = (p: { recipientId: string; minute: number; lat: number; lon: number }): LivePosition => ({
  recipientId: p.recipientId,
  deviceId: "30000000-0000-4000-8000-000000000001",
  departmentId: "20000000-0000-4000-8000-000000000001",
  time: at(p.minute),
  lat: p.lat,
  lon: p.lon,
  accuracyM: 5,
  speedMps: null,
  headingDeg: null,
  source: "gps",
  batteryPercent: 80,
});

describe("live positions in the cache", () => {
  it("shows each recipient where their last pushed fix put them", () => {
    fc.assert(
      fc.property(fc.array(livePosition, { maxLength: 30 }), (events) => {
        let m: Positions | undefined;
        for (const e of events) m = withLivePosition(m, asLive(e));
        for (const id of recipients) {
          const last = events.filter((e) => e.recipientId === id).at(-1);
          expect(m?.get(id)?.lat).toBe(last?.lat);
        }
      }),
    );
  });

  it("keeps a live fix newer than the fetched list, and takes the list's where it is newer", () => {
    fc.assert(
      fc.property(fc.array(livePosition, { maxLength: 10 }), livePosition, (live, listed) => {
        let m: Positions | undefined;
        for (const e of live) m = withLivePosition(m, asLive(e));
        const list = {
          type: "FeatureCollection" as const,
          features: [
            {
              type: "Feature" as const,
              geometry: { type: "Point" as const, coordinates: [listed.lon, listed.lat] },
              properties: {
                recipientId: listed.recipientId,
                name: "Kari Berg",
                departmentId: "20000000-0000-4000-8000-000000000001",
                time: at(listed.minute),
                accuracyM: 5,
                source: "gps",
                batteryPercent: 50,
              },
            },
          ],
        };
        const out = fetchedPositions(currentPositions.parse(list), m);
        const pushed = m?.get(listed.recipientId);
        const newer = pushed && Date.parse(pushed.time) > Date.parse(at(listed.minute));
        expect(out.get(listed.recipientId)?.lat).toBe(newer ? pushed.lat : listed.lat);
        expect(out.get(listed.recipientId)?.name).toBe("Kari Berg");
        // Only the listed recipients remain: one no longer visible is dropped.
        expect([...out.keys()]).toEqual([listed.recipientId]);
      }),
    );
  });
});

describe("live device changes in the cache", () => {
  const device = (id: string) =>
    ({ id, online: false, batteryPercent: 10, lastSeenAt: null }) as unknown as Device;
  it("changes the listed device and no other, and says when the list does not have it", () => {
    const list = [device("a"), device("b")];
    const change = {
      deviceId: "b",
      recipientId: "r",
      departmentId: "d",
      online: true,
      batteryPercent: 90,
      charging: null,
      lastSeenAt: at(1),
      trackingUntil: null,
    };
    const next = withDeviceChange(list, change);
    expect(next?.map((d) => [d.id, d.online, d.batteryPercent])).toEqual([
      ["a", false, 10],
      ["b", true, 90],
    ]);
    expect(withDeviceChange(list, { ...change, deviceId: "c" })).toBeUndefined();
  });
});
