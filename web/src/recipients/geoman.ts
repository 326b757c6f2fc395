/** Geoman (drawing and editing geofences) on the global Leaflet, loaded only with the recipient page. */
import "../map/leaflet-global";
import "@geoman-io/leaflet-geoman-free";
import "@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.css";
