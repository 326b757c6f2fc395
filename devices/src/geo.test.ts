import { describe, expect, it } from "vitest";
import { bearingDeg, destination, distanceM, headingDiffDeg, normaliseDeg } from "./geo";

const oslo = { lat: 59.9139, lon: 10.7522 };
const bergen = { lat: 60.3913, lon: 5.3221 };

describe("geo", () => {
  it("measures known distances", () => {
    expect(distanceM(oslo, bergen) / 1000).toBeGreaterThan(300);
    expect(distanceM(oslo, bergen) / 1000).toBeLessThan(310);
    expect(distanceM(oslo, oslo)).toBe(0);
  });

  it("goes where the bearing and distance say", () => {
    for (const bearing of [0, 45, 90, 180, 270, 359]) {
      const p = destination(oslo, bearing, 500);
      expect(distanceM(oslo, p)).toBeCloseTo(500, 3);
      expect(Math.abs(headingDiffDeg(bearing, bearingDeg(oslo, p)))).toBeLessThan(0.01);
    }
  });

  it("normalises headings and takes the short way round", () => {
    expect(normaliseDeg(-10)).toBe(350);
    expect(normaliseDeg(720)).toBe(0);
    expect(headingDiffDeg(350, 10)).toBe(20);
    expect(headingDiffDeg(10, 350)).toBe(-20);
  });
});
