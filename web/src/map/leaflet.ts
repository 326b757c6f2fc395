/** Leaflet with clustering (leaflet.markercluster); drawing (geoman) loads with the recipient page. */
import L from "./leaflet-global";
import "leaflet.markercluster";
import "leaflet/dist/leaflet.css";
import "leaflet.markercluster/dist/MarkerCluster.css";
import "leaflet.markercluster/dist/MarkerCluster.Default.css";

export default L;

export const DEFAULT_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";

/** The tile URL the API put in the page (`<meta name="vakt-tile-url">`), OpenStreetMap otherwise. */
export function tileUrl(): string {
  return document.querySelector<HTMLMetaElement>('meta[name="vakt-tile-url"]')?.content || DEFAULT_TILE_URL;
}

/**
 * A map with the configured tiles. With no tiles reachable (no internet) the
 * map still works on a blank background; `onTilesFailed` tells the page once.
 */
export function createMap(el: HTMLElement, onTilesFailed: () => void): L.Map {
  const map = L.map(el, { zoomControl: true, keyboard: true }).setView([59.9139, 10.7522], 12);
  let failures = 0;
  let reported = false;
  L.tileLayer(tileUrl(), { maxZoom: 19, attribution: "© OpenStreetMap contributors" })
    .on("tileerror", () => {
      failures += 1;
      if (failures >= 3 && !reported) {
        reported = true;
        onTilesFailed();
      }
    })
    .addTo(map);
  return map;
}

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch] ?? ch,
  );

export { escapeHtml };
