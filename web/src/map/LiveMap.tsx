import type { Geofence } from "@vakt/schemas";
import { useEffect, useRef, useState } from "react";
import { useUi } from "../session/context";
import L, { createMap } from "./leaflet";
import type { MarkerState } from "./marker-state";
import { type RecipientMarker, worstState } from "./markers";

export interface TrailPoint {
  lat: number;
  lon: number;
  time: string;
}

interface Props {
  markers: readonly RecipientMarker[];
  selectedId: string | null;
  followId: string | null;
  trail: readonly TrailPoint[];
  geofences: readonly Geofence[];
  /** Changes to this (a new object) fly the map there. */
  focus: { lat: number; lon: number; zoom?: number } | null;
  onSelect(recipientId: string): void;
}

const markerSize = 24;

function icon(state: MarkerState, selected: boolean): L.DivIcon {
  return L.divIcon({
    className: `vakt-marker vakt-marker--${state}${selected ? " vakt-marker--selected" : ""}`,
    html: "<span></span>",
    iconSize: [markerSize, markerSize],
    iconAnchor: [markerSize / 2, markerSize / 2],
  });
}

export function geofenceLayer(g: Geofence, options: L.PathOptions): L.Layer {
  if (g.shape.kind === "circle")
    return L.circle([g.shape.center.lat, g.shape.center.lon], { ...options, radius: g.shape.radiusM });
  return L.polygon(
    g.shape.points.map((p) => [p.lat, p.lon] as L.LatLngTuple),
    options,
  );
}

/** A cluster takes its most urgent member's colour; its tooltip names up to five in alarm. */
function clusterIcon(c: L.MarkerCluster): L.DivIcon {
  const children = c.getAllChildMarkers();
  const state = worstState(
    children.map((mk) => (mk.options as { vaktState?: MarkerState }).vaktState ?? "fine"),
  );
  const alarmNames = children
    .filter((mk) => (mk.options as { vaktState?: MarkerState }).vaktState === "alarm")
    .map((mk) => mk.options.title ?? "")
    .slice(0, 5);
  return L.divIcon({
    className: `vakt-cluster vakt-cluster--${state}`,
    html: `<span title="${alarmNames.join("; ").replace(/"/g, "&quot;")}">${children.length}</span>`,
    iconSize: [36, 36],
  });
}

type KnownMarkers = Map<string, { marker: L.Marker; key: string }>;

/** Adds, redraws (when anything shown changed) and removes the markers so the group shows `list`. */
function syncMarkers(
  group: L.MarkerClusterGroup,
  known: KnownMarkers,
  list: readonly RecipientMarker[],
  isSelected: (recipientId: string) => boolean,
  titleOf: (r: RecipientMarker) => string,
  onClick: (recipientId: string) => void,
) {
  const seen = new Set<string>();
  for (const r of list) {
    seen.add(r.recipientId);
    const selected = isSelected(r.recipientId);
    const title = titleOf(r);
    const key = `${r.lat},${r.lon},${r.state},${selected},${title}`;
    const existing = known.get(r.recipientId);
    if (existing && existing.key === key) continue;
    if (existing) group.removeLayer(existing.marker);
    const marker = L.marker([r.lat, r.lon], {
      icon: icon(r.state, selected),
      title,
      alt: title,
      keyboard: true,
      riseOnHover: true,
      zIndexOffset: r.state === "alarm" ? 1000 : 0,
      vaktState: r.state,
    } as L.MarkerOptions);
    marker.on("click", () => onClick(r.recipientId));
    const markerEl = () => marker.getElement();
    marker.on("add", () => {
      const e = markerEl();
      if (e) {
        e.dataset.recipientId = r.recipientId;
        e.dataset.state = r.state;
        e.setAttribute("role", "button");
        e.setAttribute("aria-label", title);
      }
    });
    group.addLayer(marker);
    known.set(r.recipientId, { marker, key });
  }
  for (const [id, { marker }] of known) {
    if (!seen.has(id)) {
      group.removeLayer(marker);
      known.delete(id);
    }
  }
}

function drawAccuracy(circles: L.LayerGroup, list: readonly RecipientMarker[]) {
  circles.clearLayers();
  for (const r of list) {
    if (r.accuracyM && r.accuracyM > 0)
      L.circle([r.lat, r.lon], {
        radius: r.accuracyM,
        weight: 1,
        className: `vakt-accuracy vakt-accuracy--${r.state}`,
        interactive: false,
      }).addTo(circles);
  }
}

/** The focused recipient's geofences and trail. */
function drawOverlay(o: L.LayerGroup, geofences: readonly Geofence[], trail: readonly TrailPoint[]) {
  o.clearLayers();
  for (const g of geofences)
    geofenceLayer(g, {
      className: `vakt-geofence${g.active ? "" : " vakt-geofence--inactive"}`,
      weight: 2,
    })
      .bindTooltip(g.name)
      .addTo(o);
  if (trail.length > 1)
    L.polyline(
      trail.map((p) => [p.lat, p.lon] as L.LatLngTuple),
      { className: "vakt-trail", weight: 3 },
    ).addTo(o);
}

/**
 * The live map: one marker per recipient coloured by state, clustered when
 * many (a cluster takes its most urgent member's colour), accuracy circles,
 * the focused recipient's geofences and trail.
 */
export function LiveMap(props: Props) {
  const { t } = useUi();
  const el = useRef<HTMLDivElement>(null);
  const map = useRef<L.Map | null>(null);
  const cluster = useRef<L.MarkerClusterGroup | null>(null);
  const circles = useRef<L.LayerGroup | null>(null);
  const overlay = useRef<L.LayerGroup | null>(null);
  const markers = useRef(new Map<string, { marker: L.Marker; key: string }>());
  const fitted = useRef(false);
  const onSelect = useRef(props.onSelect);
  onSelect.current = props.onSelect;
  const [noTiles, setNoTiles] = useState(false);

  useEffect(() => {
    if (!el.current) return;
    const m = createMap(el.current, () => setNoTiles(true));
    map.current = m;
    circles.current = L.layerGroup().addTo(m);
    overlay.current = L.layerGroup().addTo(m);
    cluster.current = L.markerClusterGroup({
      disableClusteringAtZoom: 16,
      showCoverageOnHover: false,
      iconCreateFunction: clusterIcon,
    }).addTo(m);
    const known = markers.current;
    return () => {
      m.remove();
      map.current = null;
      known.clear();
      fitted.current = false;
    };
  }, []);

  // Markers and accuracy circles.
  useEffect(() => {
    const group = cluster.current;
    const m = map.current;
    if (!group || !m || !circles.current) return;
    const isSelected = (id: string) => id === props.selectedId || id === props.followId;
    const title = (r: RecipientMarker) => `${r.name ?? r.recipientId}: ${t(`state.${r.state}`)}`;
    syncMarkers(group, markers.current, props.markers, isSelected, title, (id) => onSelect.current(id));
    drawAccuracy(circles.current, props.markers);
    if (!fitted.current && props.markers.length > 0) {
      fitted.current = true;
      m.fitBounds(L.latLngBounds(props.markers.map((r) => [r.lat, r.lon] as L.LatLngTuple)).pad(0.1), {
        maxZoom: 15,
      });
    }
  }, [props.markers, props.selectedId, props.followId, t]);

  useMapView(map, props);

  // Geofences and the trail of the focused recipient.
  useEffect(() => {
    const o = overlay.current;
    if (!o) return;
    drawOverlay(o, props.geofences, props.trail);
  }, [props.geofences, props.trail]);

  return (
    <div className="map-wrap">
      <div ref={el} className="map" role="application" aria-label={t("map.label")} data-testid="live-map" />
      {noTiles && (
        <p className="map-notice" role="status">
          {t("map.noTiles")}
        </p>
      )}
    </div>
  );
}

/** Follow (keep the followed recipient in view as it moves) and focus (fly where asked). */
function useMapView(
  map: React.RefObject<L.Map | null>,
  props: Pick<Props, "followId" | "markers" | "focus">,
) {
  useEffect(() => {
    const m = map.current;
    if (!m || !props.followId) return;
    const r = props.markers.find((x) => x.recipientId === props.followId);
    if (r) m.setView([r.lat, r.lon], Math.max(m.getZoom(), 16), { animate: false });
  }, [map, props.followId, props.markers]);

  useEffect(() => {
    const m = map.current;
    if (!m || !props.focus) return;
    m.setView([props.focus.lat, props.focus.lon], props.focus.zoom ?? Math.max(m.getZoom(), 16), {
      animate: false,
    });
  }, [map, props.focus]);
}
