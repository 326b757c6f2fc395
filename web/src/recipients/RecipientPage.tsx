import {
  type Device,
  device as deviceSchema,
  type Geofence,
  geofence,
  positionHistory,
  recipient,
  staffUser,
} from "@vakt/schemas";
import { useCallback, useEffect, useState } from "react";
import { z } from "zod";
import { subscribeLive, watchPositions } from "../api/live";
import { api, data } from "../api/typed";
import { LocateButton } from "../map/LocateButton";
import { ReasonForm } from "../map/ReasonForm";
import { can, needsReason, useSession, useUi } from "../session/context";
import { ContactsSection } from "./ContactsSection";
import { DeviceConfiguration } from "./DeviceConfiguration";
import { PrivacySection } from "./PrivacySection";
import { RecipientMap } from "./RecipientMap";
import { WhoLooked } from "./WhoLooked";

type History = z.infer<typeof positionHistory>;
const ranges = [1, 6, 24, 24 * 7];

/** One recipient: details, device and its configuration, history with a time slider, geofences, activity. */
export function RecipientPage(props: { id: string }) {
  const { t, dateTime, date } = useUi();
  const session = useSession();
  const [r, setR] = useState<z.infer<typeof recipient> | null>(null);
  const [devices, setDevices] = useState<Device[]>([]);
  const [fences, setFences] = useState<Geofence[]>([]);
  const [hours, setHours] = useState(24);
  const [history, setHistory] = useState<History | null>(null);
  const [index, setIndex] = useState(0);
  const [reason, setReason] = useState<string | null>(null);
  const [staff, setStaff] = useState<Map<string, string>>(new Map());
  const [error, setError] = useState<string | null>(null);
  const locator = needsReason(session);
  const fail = useCallback(
    (e: unknown) => setError(t("common.error", { message: e instanceof Error ? e.message : String(e) })),
    [t],
  );

  // Geofences say where the person lives: only for those who manage them or see positions (issue 15).
  const seesPlaces = (["geofence:manage", "position:read"] as const).some((p) => can(session, p));
  const loadFences = useCallback(
    async () =>
      seesPlaces
        ? data(
            api.GET("/api/v1/geofences", { params: { query: { recipientId: props.id } } }),
            z.array(geofence),
          )
            .then(setFences)
            .catch(fail)
        : setFences([]),
    [props.id, fail, seesPlaces],
  );

  useEffect(() => {
    data(api.GET("/api/v1/recipients/{id}", { params: { path: { id: props.id } } }), recipient)
      .then(setR)
      .catch(fail);
    void loadFences();
    if (can(session, "device:read"))
      data(api.GET("/api/v1/devices"), z.array(deviceSchema))
        .then((ds) => setDevices(ds.filter((d) => d.recipientId === props.id && !d.retiredAt)))
        .catch(fail);
    if (can(session, "user:read"))
      data(api.GET("/api/v1/users"), z.array(staffUser))
        .then((us) => setStaff(new Map(us.map((u) => [u.id, `${u.firstName} ${u.lastName}`]))))
        .catch(() => setStaff(new Map()));
  }, [props.id, session, loadFences, fail]);

  useEffect(() => {
    if (locator && !reason) return;
    const to = new Date();
    data(
      api.GET("/api/v1/positions/recipients/{id}/history", {
        params: {
          path: { id: props.id },
          query: {
            from: new Date(to.getTime() - hours * 3_600_000).toISOString(),
            to: to.toISOString(),
            maxPoints: 2000,
            reason: reason ?? undefined,
          },
        },
      }),
      positionHistory,
    )
      .then((h) => {
        setHistory(h);
        setIndex(Math.max(0, h.points.length - 1));
      })
      .catch(fail);
  }, [props.id, hours, reason, locator, fail]);

  // New fixes while the page is open and visible (a locate answer among them) join the history.
  const readsPositions = can(session, "position:read");
  useEffect(() => {
    if (!readsPositions) return;
    const unwatch = watchPositions([props.id]);
    const off = subscribeLive({
      position: (p) => {
        if (p.recipientId !== props.id) return;
        setHistory((h) => {
          if (!h || h.points.some((x) => x.time === p.time)) return h;
          const points = [...h.points, { time: p.time, lat: p.lat, lon: p.lon, accuracyM: p.accuracyM }];
          setIndex(points.length - 1);
          return { ...h, points };
        });
      },
    });
    return () => {
      off();
      unwatch();
    };
  }, [props.id, readsPositions]);

  const point = history?.points[index] ?? null;
  const name = r ? `${r.firstName ?? ""} ${r.lastName ?? ""}`.trim() : "";

  return (
    <main className="page">
      <h1>
        {t("recipient.title")}: {name}
      </h1>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="grid2">
        <section aria-labelledby="rec-details">
          <h2 id="rec-details" className="sr-only">
            {t("recipient.title")}
          </h2>
          {r && (
            <dl className="facts card">
              <dt>{t("recipient.birthDate")}</dt>
              <dd>{r.birthDate ? date(r.birthDate) : "–"}</dd>
              <dt>{t("recipient.legalBasis")}</dt>
              <dd>
                {t(`legal.${r.legalBasis}`)}
                {r.legalBasisReference ? ` (${r.legalBasisReference})` : ""}
                {r.legalBasisDate ? `, ${r.legalBasisDate}` : ""}
              </dd>
              <dt>{t("recipient.status")}</dt>
              <dd>
                {t(`enum.recipientStatus.${r.status}`)}
                {r.serviceEndedOn ? ` (${r.serviceEndedOn})` : ""}
              </dd>
              <dt>{t("alarm.responderNotes")}</dt>
              <dd>{r.responderNotes || "–"}</dd>
            </dl>
          )}
          <h2>{t("recipient.device")}</h2>
          {/* Locators may not list devices: they locate through the recipient. */}
          {!can(session, "device:read") && can(session, "position:locate") && (
            <LocateButton deviceId={null} recipientId={props.id} reason={reason} />
          )}
          {devices.length === 0
            ? can(session, "device:read") && <p className="muted">{t("recipient.noDevice")}</p>
            : devices.map((d) => (
                <div key={d.id}>
                  {(readsPositions || can(session, "position:locate")) && (
                    <LocateButton deviceId={d.id} recipientId={props.id} reason={reason} />
                  )}
                  <DeviceConfiguration
                    device={d}
                    editable={can(session, "device:configure")}
                    onSaved={(nd) => setDevices((ds) => ds.map((x) => (x.id === nd.id ? nd : x)))}
                  />
                </div>
              ))}
        </section>
        <section aria-labelledby="rec-history">
          <h2 id="rec-history">{t("recipient.history")}</h2>
          {locator && !reason ? (
            <ReasonForm onReason={setReason} />
          ) : (
            <>
              <div className="form-row">
                <label className="inline">
                  {t("map.trail")}
                  <select value={hours} onChange={(e) => setHours(Number(e.target.value))}>
                    {ranges.map((h) => (
                      <option key={h} value={h}>
                        {t("map.trailHours", { hours: h })}
                      </option>
                    ))}
                  </select>
                </label>
                {history && history.points.length > 0 && (
                  <label className="inline slider">
                    {t("recipient.slider")}
                    <input
                      type="range"
                      min={0}
                      max={history.points.length - 1}
                      value={index}
                      onChange={(e) => setIndex(Number(e.target.value))}
                      aria-valuetext={point ? dateTime(point.time) : ""}
                    />
                    <output>{point ? dateTime(point.time) : ""}</output>
                  </label>
                )}
              </div>
              {history && history.points.length === 0 && (
                <p className="muted">{t("recipient.historyEmpty")}</p>
              )}
              {history && history.transitions.length > 0 && (
                <>
                  <h3>{t("recipient.transitions")}</h3>
                  <ul className="transitions" data-testid="transitions">
                    {history.transitions.map((x) => (
                      <li key={`${x.time}-${x.event}`}>
                        {t(
                          x.event === "enter" ? "recipient.transition.enter" : "recipient.transition.leave",
                          {
                            region: x.region ?? t("recipient.transition.unnamed"),
                            time: dateTime(x.time),
                          },
                        )}
                      </li>
                    ))}
                  </ul>
                </>
              )}
            </>
          )}
          <h3>{t("recipient.geofences")}</h3>
          <p className="muted small">{t("recipient.geofenceHelp")}</p>
          <RecipientMap
            recipientId={props.id}
            points={history?.points ?? []}
            current={point}
            fences={fences}
            editable={can(session, "geofence:manage")}
            onFencesChanged={loadFences}
          />
        </section>
      </div>
      {r && can(session, "recipient:manage") && <ContactsSection recipientId={props.id} />}
      {r && <PrivacySection recipientId={props.id} name={name} />}
      {can(session, "activity:read") && r && <WhoLooked recipientId={props.id} name={name} staff={staff} />}
    </main>
  );
}
