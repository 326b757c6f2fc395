/** Between Leaflet layers drawn with geoman and the API's geofence shapes: pure except for reading the layer. */

import type { geofenceShape } from "@vakt/schemas";
import type { z } from "zod";
import L from "../map/leaflet";

export type GeofenceShape = z.infer<typeof geofenceShape>;

const round = (n: number) => Math.round(n * 1e6) / 1e6;

/** The shape of a drawn or edited layer, or null for something that is not a circle or polygon. */
export function shapeOfLayer(layer: L.Layer): GeofenceShape | null {
  if (layer instanceof L.Circle) {
    const c = layer.getLatLng();
    return {
      kind: "circle",
      center: { lat: round(c.lat), lon: round(c.lng) },
      radiusM: Math.max(10, Math.round(layer.getRadius())),
    };
  }
  if (layer instanceof L.Polygon) {
    const rings = layer.getLatLngs() as L.LatLng[][] | L.LatLng[];
    const ring = (Array.isArray(rings[0]) ? rings[0] : rings) as L.LatLng[];
    return { kind: "polygon", points: ring.map((p) => ({ lat: round(p.lat), lon: round(p.lng) })) };
  }
  return null;
}
