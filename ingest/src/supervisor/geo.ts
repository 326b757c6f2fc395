/** Distances and containment on the WGS 84 sphere, good to a metre at geofence scale. */
import { distanceM, EARTH_RADIUS_M, type LatLon } from "@vakt/schemas";

export type { LatLon };

const rad = (deg: number) => (deg * Math.PI) / 180;

/** Ray casting; points exactly on an edge may fall either way (hysteresis absorbs that). */
export function pointInPolygon(p: LatLon, polygon: LatLon[]): boolean {
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const a = polygon[i] as LatLon;
    const b = polygon[j] as LatLon;
    if (
      a.lat > p.lat !== b.lat > p.lat &&
      p.lon < ((b.lon - a.lon) * (p.lat - a.lat)) / (b.lat - a.lat) + a.lon
    ) {
      inside = !inside;
    }
  }
  return inside;
}

/** Metres from `p` to the nearest edge of the polygon (local equirectangular projection). */
export function distanceToPolygonEdgeM(p: LatLon, polygon: LatLon[]): number {
  const kx = Math.cos(rad(p.lat)) * rad(1) * EARTH_RADIUS_M;
  const ky = rad(1) * EARTH_RADIUS_M;
  const xy = (q: LatLon) => [(q.lon - p.lon) * kx, (q.lat - p.lat) * ky] as const;
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [ax, ay] = xy(polygon[j] as LatLon);
    const [bx, by] = xy(polygon[i] as LatLon);
    const dx = bx - ax;
    const dy = by - ay;
    const len2 = dx * dx + dy * dy;
    const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, -(ax * dx + ay * dy) / len2));
    best = Math.min(best, Math.hypot(ax + t * dx, ay + t * dy));
  }
  return best;
}

export type GeofenceShape =
  | { kind: "circle"; center: LatLon; radiusM: number }
  | { kind: "polygon"; points: LatLon[] };

/**
 * Signed distance to the boundary: negative inside, positive outside, in metres.
 * Hysteresis compares it with a margin instead of with zero.
 */
export function signedBoundaryDistanceM(p: LatLon, shape: GeofenceShape): number {
  if (shape.kind === "circle") return distanceM(p, shape.center) - shape.radiusM;
  const d = distanceToPolygonEdgeM(p, shape.points);
  return pointInPolygon(p, shape.points) ? -d : d;
}
