import { distanceM } from "@vakt/schemas";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pointInPolygon, signedBoundaryDistanceM } from "./geo";

const oslo = { lat: 59.9139, lon: 10.7522 };
const bergen = { lat: 60.3913, lon: 5.3221 };
const square = [
  { lat: 59.9, lon: 10.7 },
  { lat: 59.9, lon: 10.8 },
  { lat: 60.0, lon: 10.8 },
  { lat: 60.0, lon: 10.7 },
];

describe("geo", () => {
  it("measures Oslo to Bergen as about 305 km", () => {
    expect(distanceM(oslo, bergen) / 1000).toBeCloseTo(305, -1);
  });

  it("is symmetric and zero for the same point", () => {
    fc.assert(
      fc.property(
        fc.double({ min: -89, max: 89, noNaN: true }),
        fc.double({ min: -179, max: 179, noNaN: true }),
        fc.double({ min: -89, max: 89, noNaN: true }),
        fc.double({ min: -179, max: 179, noNaN: true }),
        (a, b, c, d) => {
          const p = { lat: a, lon: b };
          const q = { lat: c, lon: d };
          expect(distanceM(p, p)).toBe(0);
          expect(Math.abs(distanceM(p, q) - distanceM(q, p))).toBeLessThan(1e-6);
        },
      ),
    );
  });

  it("tells inside from outside a polygon", () => {
    expect(pointInPolygon({ lat: 59.95, lon: 10.75 }, square)).toBe(true);
    expect(pointInPolygon({ lat: 60.05, lon: 10.75 }, square)).toBe(false);
    expect(pointInPolygon({ lat: 59.95, lon: 10.65 }, square)).toBe(false);
  });

  it("gives a signed distance to the boundary of circles and polygons", () => {
    const circle = { kind: "circle" as const, center: oslo, radiusM: 500 };
    expect(signedBoundaryDistanceM(oslo, circle)).toBeCloseTo(-500, 6);
    const north = { lat: oslo.lat + 1_000 / 111_195, lon: oslo.lon };
    expect(signedBoundaryDistanceM(north, circle)).toBeCloseTo(500, -1);
    const poly = { kind: "polygon" as const, points: square };
    // 0.01° of latitude inside the southern edge: about 1.1 km.
    expect(signedBoundaryDistanceM({ lat: 59.91, lon: 10.75 }, poly)).toBeCloseTo(-1112, -1);
    expect(signedBoundaryDistanceM({ lat: 59.89, lon: 10.75 }, poly)).toBeCloseTo(1112, -1);
  });
});
