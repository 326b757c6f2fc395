import { useMutation } from "@tanstack/react-query";
import type { Geofence } from "@vakt/schemas";
import { geofence, geofenceAlarmOn } from "@vakt/schemas";
import { useEffect, useRef, useState } from "react";
import { z } from "zod";
import { api, data } from "../api/typed";
import { geofenceLayer } from "../map/LiveMap";
import L, { createMap } from "../map/leaflet";
import "./geoman";
import { useUi } from "../session/context";
import { GeofenceForm } from "./GeofenceForm";
import type { GeofenceBody } from "./geofence-form";
import { type GeofenceShape, shapeOfLayer } from "./geofence-shape";

interface Point {
  time: string;
  lat: number;
  lon: number;
  accuracyM: number | null;
}

/**
 * The recipient's map: the history as a line with the slider's point, and
 * the geofences, which an administrator or operator draws and edits with geoman.
 */
export function RecipientMap(props: {
  recipientId: string;
  points: readonly Point[];
  current: Point | null;
  fences: readonly Geofence[];
  editable: boolean;
  onFencesChanged(): void;
}) {
  const { t, lang } = useUi();
  const el = useRef<HTMLDivElement>(null);
  const map = useRef<L.Map | null>(null);
  const history = useRef<L.LayerGroup | null>(null);
  const fencesLayer = useRef<L.FeatureGroup | null>(null);
  const [draft, setDraft] = useState<{ shape: GeofenceShape; layer: L.Layer } | null>(null);
  const changed = useRef(props.onFencesChanged);
  changed.current = props.onFencesChanged;
  const { create, edit, message } = useFenceChanges(props.recipientId, changed, () => {
    draft?.layer.remove();
    setDraft(null);
  });
  const fitted = useRef(false);

  useEffect(() => {
    if (!el.current) return;
    const m = createMap(el.current, () => undefined);
    map.current = m;
    history.current = L.layerGroup().addTo(m);
    fencesLayer.current = L.featureGroup().addTo(m);
    if (props.editable) addDrawing(m, lang, setDraft);
    return () => {
      m.remove();
      map.current = null;
      fitted.current = false;
    };
  }, [props.editable, lang]);

  // Geofences: each one editable in place; an edit or removal is saved at once.
  useEffect(() => {
    const g = fencesLayer.current;
    if (!g) return;
    drawFences(g, props.fences, edit);
    const m = map.current;
    if (m && !fitted.current && props.fences.length > 0) {
      fitted.current = true;
      m.fitBounds(g.getBounds().pad(0.3), { maxZoom: 16 });
    }
  }, [props.fences, edit]);

  useHistoryLayer(history, map, fitted, props.points, props.current);

  return (
    <div>
      <div
        ref={el}
        className="map-box"
        role="application"
        aria-label={t("recipient.geofences")}
        data-testid="recipient-map"
      />
      {draft && (
        <GeofenceForm
          key={JSON.stringify(draft.shape)}
          shape={draft.shape}
          saving={create.isPending}
          onSave={(body) => create.mutate(body)}
          onCancel={() => {
            draft.layer.remove();
            setDraft(null);
          }}
        />
      )}
      {message && <p role="status">{message}</p>}
      <FenceList fences={props.fences} {...(props.editable ? { edit } : {})} />
    </div>
  );
}

/** The history line and the slider's point; the first drawn with points fits the map to them (unless the fences did). */
function useHistoryLayer(
  history: React.RefObject<L.LayerGroup | null>,
  map: React.RefObject<L.Map | null>,
  fitted: React.RefObject<boolean>,
  points: readonly Point[],
  current: Point | null,
) {
  useEffect(() => {
    const h = history.current;
    const m = map.current;
    if (!h || !m) return;
    const latlngs = drawHistory(h, points, current);
    if (!fitted.current && latlngs.length > 0) {
      fitted.current = true;
      m.fitBounds(L.latLngBounds(latlngs).pad(0.3), { maxZoom: 16 });
    }
  }, [history, map, fitted, points, current]);
}

/** The geofences in words: name, size, time window, when crossing raises an alarm, and whether it is active. */
function FenceList(props: { fences: readonly Geofence[]; edit?: (send: () => Promise<unknown>) => void }) {
  const { t } = useUi();
  return (
    <ul>
      {props.fences.map((f) => (
        <li key={f.id} data-testid="geofence-item">
          {f.name} (
          {f.shape.kind === "circle" ? `${Math.round(f.shape.radiusM)} m` : `${f.shape.points.length} ⬠`})
          {f.window ? ` ${f.window.start}–${f.window.end}` : ""}{" "}
          {f.active ? "" : `(${t("common.no")} ${t("recipient.geofenceActive").toLowerCase()}) `}·{" "}
          {props.edit ? <FenceAlarmOn fence={f} edit={props.edit} /> : t(`geofence.alarmOn.${f.alarmOn}`)}
        </li>
      ))}
    </ul>
  );
}

/** When crossing one fence raises an alarm, changed in place (saved at once, the list read again). */
function FenceAlarmOn(props: { fence: Geofence; edit: (send: () => Promise<unknown>) => void }) {
  const { t } = useUi();
  const f = props.fence;
  return (
    <select
      aria-label={t("geofence.alarmOnChange", { name: f.name })}
      value={f.alarmOn}
      onChange={(e) => {
        const alarmOn = geofenceAlarmOn.parse(e.target.value);
        props.edit(() =>
          data(
            api.PATCH("/api/v1/geofences/{id}", { params: { path: { id: f.id } }, body: { alarmOn } }),
            geofence,
          ),
        );
      }}
    >
      {geofenceAlarmOn.options.map((o) => (
        <option key={o} value={o}>
          {t("geofence.alarmOn")} {t(`geofence.alarmOn.${o}`)}
        </option>
      ))}
    </select>
  );
}

/** geoman's drawing controls (circles and polygons); a shape drawn becomes the draft to name. */
function addDrawing(
  m: L.Map,
  lang: string,
  setDraft: (draft: { shape: GeofenceShape; layer: L.Layer }) => void,
) {
  m.pm.setLang(lang === "nb" ? "no" : "en");
  m.pm.addControls({
    position: "topleft",
    drawMarker: false,
    drawCircleMarker: false,
    drawPolyline: false,
    drawRectangle: false,
    drawText: false,
    cutPolygon: false,
    rotateMode: false,
    drawCircle: true,
    drawPolygon: true,
    editMode: true,
    dragMode: true,
    removalMode: true,
  });
  m.on("pm:create", (e) => {
    const shape = shapeOfLayer(e.layer);
    if (shape) setDraft({ shape, layer: e.layer });
    else e.layer.remove();
  });
}

/** The geofences, each editable in place; an edit or removal is saved at once. */
function drawFences(
  g: L.FeatureGroup,
  fences: readonly Geofence[],
  edit: (send: () => Promise<unknown>) => void,
) {
  g.clearLayers();
  for (const f of fences) {
    const layer = geofenceLayer(f, {
      className: `vakt-geofence${f.active ? "" : " vakt-geofence--inactive"}`,
      weight: 2,
    }) as L.Path;
    layer.bindTooltip(f.name);
    layer.on("pm:edit", () => {
      const shape = shapeOfLayer(layer);
      if (!shape) return;
      edit(() =>
        data(
          api.PATCH("/api/v1/geofences/{id}", { params: { path: { id: f.id } }, body: { shape } }),
          geofence,
        ),
      );
    });
    layer.on("pm:remove", () =>
      edit(() => data(api.DELETE("/api/v1/geofences/{id}", { params: { path: { id: f.id } } }), z.unknown())),
    );
    g.addLayer(layer);
  }
}

/** The history line and the slider's point (with its accuracy); the line's points, for the first fit. */
function drawHistory(h: L.LayerGroup, points: readonly Point[], current: Point | null): L.LatLngTuple[] {
  h.clearLayers();
  const latlngs = points.map((p) => [p.lat, p.lon] as L.LatLngTuple);
  if (latlngs.length > 1) L.polyline(latlngs, { className: "vakt-trail", weight: 3 }).addTo(h);
  if (current) {
    L.circleMarker([current.lat, current.lon], {
      radius: 8,
      className: "vakt-history-point",
    }).addTo(h);
    if (current.accuracyM)
      L.circle([current.lat, current.lon], {
        radius: current.accuracyM,
        className: "vakt-accuracy",
        interactive: false,
      }).addTo(h);
  }
  return latlngs;
}

/** Saving what is drawn and changed on the map, and what to say about it. */
function useFenceChanges(recipientId: string, changed: { current: () => void }, created: () => void) {
  const { t } = useUi();
  // An edit or removal made on the map: the list is read again whatever the answer (a refused
  // edit puts the shape back as stored).
  const change = useMutation({
    mutationFn: (send: () => Promise<unknown>) => send(),
    onSettled: () => changed.current(),
  });
  const create = useMutation({
    mutationFn: (body: GeofenceBody) =>
      data(api.POST("/api/v1/geofences", { body: { ...body, recipientId } }), geofence),
    onSuccess: () => {
      created();
      changed.current();
    },
  });
  const failure = create.error ?? change.error;
  const message = failure
    ? t("common.error", { message: failure.message })
    : create.isSuccess
      ? t("common.saved")
      : null;
  // mutate is stable: the map's handlers, bound once per list, may hold it.
  return { create, edit: change.mutate, message };
}
