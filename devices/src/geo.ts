/** Small spherical-earth helpers (WGS 84 mean radius); good to a few metres over a town. */
import { EARTH_RADIUS_M, type LatLon } from "@vakt/schemas";

// The distance itself is shared with ingest (schemas/src/geo.ts).
export { distanceM, EARTH_RADIUS_M, type LatLon } from "@vakt/schemas";

const rad = (deg: number) => (deg * Math.PI) / 180;
const deg = (r: number) => (r * 180) / Math.PI;

/** Normalises any angle in degrees to [0, 360). */
export function normaliseDeg(d: number): number {
  const n = d % 360;
  const out = n < 0 ? n + 360 : n;
  return out >= 360 ? 0 : out;
}

/** Signed smallest difference `to - from`, in (-180, 180]. */
export function headingDiffDeg(from: number, to: number): number {
  const d = normaliseDeg(to - from);
  return d > 180 ? d - 360 : d;
}

/** Initial bearing from `a` to `b`, degrees clockwise from north, [0, 360). */
export function bearingDeg(a: LatLon, b: LatLon): number {
  const y = Math.sin(rad(b.lon - a.lon)) * Math.cos(rad(b.lat));
  const x =
    Math.cos(rad(a.lat)) * Math.sin(rad(b.lat)) -
    Math.sin(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.cos(rad(b.lon - a.lon));
  return normaliseDeg(deg(Math.atan2(y, x)));
}

/** The point `distance` metres from `from` along `bearing`. */
export function destination(from: LatLon, bearing: number, distance: number): LatLon {
  const d = distance / EARTH_RADIUS_M;
  const b = rad(bearing);
  const lat1 = rad(from.lat);
  const lon1 = rad(from.lon);
  const lat2 = Math.asin(Math.sin(lat1) * Math.cos(d) + Math.cos(lat1) * Math.sin(d) * Math.cos(b));
  const lon2 =
    lon1 +
    Math.atan2(Math.sin(b) * Math.sin(d) * Math.cos(lat1), Math.cos(d) - Math.sin(lat1) * Math.sin(lat2));
  return { lat: deg(lat2), lon: ((deg(lon2) + 540) % 360) - 180 };
}
