/** The Leaflet plugins (markercluster, geoman) extend the global `L`; this makes it exist before they load. */
import L from "leaflet";

(window as unknown as { L: typeof L }).L = L;
export default L;
