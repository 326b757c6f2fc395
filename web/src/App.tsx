import L from "leaflet";
import { useEffect, useRef } from "react";

/**
 * The console shell: a full-window map. The live map, alarm queue and
 * administration screens arrive with the web console issue.
 */
export function App() {
  const mapEl = useRef<HTMLElement>(null);
  useEffect(() => {
    if (!mapEl.current) return;
    const map = L.map(mapEl.current).setView([59.9139, 10.7522], 12);
    const tileUrl = document.querySelector<HTMLMetaElement>('meta[name="vakt-tile-url"]')?.content;
    if (tileUrl) L.tileLayer(tileUrl, { maxZoom: 19, attribution: "© OpenStreetMap" }).addTo(map);
    return () => {
      map.remove();
    };
  }, []);
  return (
    <main style={{ display: "flex", flexDirection: "column", height: "100vh", margin: 0 }}>
      <header style={{ padding: "0.5rem 1rem", fontFamily: "system-ui, sans-serif" }}>
        <strong>Vakt</strong>
      </header>
      <section ref={mapEl} style={{ flex: 1 }} aria-label="Map" />
    </main>
  );
}
