import { useQuery, useQueryClient } from "@tanstack/react-query";
import {
  type Device,
  device as deviceSchema,
  geofence,
  positionHistory,
  recipient,
  staffUser,
} from "@vakt/schemas";
import { useEffect, useMemo, useState } from "react";
import { z } from "zod";
import { subscribeLive, watchPositions } from "../api/live";
import { api, data } from "../api/typed";
import { liveKeys } from "../live-data";
import { LocateButton } from "../map/LocateButton";
import { ReasonForm } from "../map/ReasonForm";
import { can, needsReason, useSession, useUi } from "../session/context";
import { ContactsSection } from "./ContactsSection";
import { DeviceConfiguration } from "./DeviceConfiguration";
import { PrivacySection } from "./PrivacySection";
import { RecipientDetails, recipientKey } from "./RecipientDetails";
import { RecipientMap } from "./RecipientMap";
import { WhoLooked } from "./WhoLooked";

type History = z.infer<typeof positionHistory>;
const ranges = [1, 6, 24, 24 * 7];
const NO_DEVICES: Device[] = [];
const NO_FENCES: z.infer<typeof geofence>[] = [];

/** One recipient: details, device and its configuration, history with a time slider, geofences, activity. */
export function RecipientPage(props: { id: string }) {
  const { t, dateTime } = useUi();
  const session = useSession();
  const client = useQueryClient();
  const [hours, setHours] = useState(24);
  /** The slider's point; null follows the newest. */
  const [index, setIndex] = useState<number | null>(null);
  const [reason, setReason] = useState<string | null>(null);
  const locator = needsReason(session);

  // Geofences say where the person lives: only for those who manage them or see positions (issue 15).
  const seesPlaces = (["geofence:manage", "position:read"] as const).some((p) => can(session, p));
  const recipientQuery = useQuery({
    queryKey: recipientKey(props.id),
    queryFn: () =>
      data(api.GET("/api/v1/recipients/{id}", { params: { path: { id: props.id } } }), recipient),
  });
  const fencesQuery = useQuery({
    queryKey: liveKeys.geofences(props.id),
    enabled: seesPlaces,
    queryFn: () =>
      data(api.GET("/api/v1/geofences", { params: { query: { recipientId: props.id } } }), z.array(geofence)),
  });
  const devicesQuery = useQuery({
    queryKey: liveKeys.devices,
    enabled: can(session, "device:read"),
    queryFn: () => data(api.GET("/api/v1/devices"), z.array(deviceSchema)),
  });
  const staffQuery = useQuery({
    queryKey: ["users"],
    enabled: can(session, "user:read"),
    queryFn: () => data(api.GET("/api/v1/users"), z.array(staffUser)),
  });
  const historyKey = ["positions", "history", props.id, hours, reason] as const;
  const historyQuery = useQuery({
    queryKey: historyKey,
    enabled: !(locator && !reason),
    queryFn: () => {
      const to = new Date();
      return data(
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
      );
    },
  });
  const r = recipientQuery.data ?? null;
  const fences = seesPlaces ? fencesQuery.data : undefined;
  const devices = useMemo(
    () => (devicesQuery.data ?? NO_DEVICES).filter((d) => d.recipientId === props.id && !d.retiredAt),
    [devicesQuery.data, props.id],
  );
  const staff = useMemo(
    () => new Map((staffQuery.data ?? []).map((u) => [u.id, `${u.firstName} ${u.lastName}`])),
    [staffQuery.data],
  );
  const history = locator && !reason ? null : (historyQuery.data ?? null);
  const failure = [recipientQuery.error, fencesQuery.error, devicesQuery.error, historyQuery.error].find(
    Boolean,
  );
  const error = failure ? t("common.error", { message: failure.message }) : null;

  // New fixes while the page is open and visible (a locate answer among them) join the history.
  const readsPositions = can(session, "position:read");
  // biome-ignore lint/correctness/useExhaustiveDependencies: the key is made from hours and reason, named here
  useEffect(() => {
    if (!readsPositions) return;
    const unwatch = watchPositions([props.id]);
    const off = subscribeLive({
      position: (p) => {
        if (p.recipientId !== props.id) return;
        client.setQueryData<History>(historyKey, (h) =>
          !h || h.points.some((x) => x.time === p.time)
            ? h
            : {
                ...h,
                points: [...h.points, { time: p.time, lat: p.lat, lon: p.lon, accuracyM: p.accuracyM }],
              },
        );
        setIndex(null);
      },
    });
    return () => {
      off();
      unwatch();
    };
  }, [props.id, readsPositions, client, hours, reason]);

  const last = Math.max(0, (history?.points.length ?? 0) - 1);
  const shown = index === null ? last : Math.min(index, last);
  const point = history?.points[shown] ?? null;
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
          {r && <RecipientDetails recipient={r} editable={can(session, "recipient:manage")} />}
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
                    onSaved={(nd) =>
                      client.setQueryData<Device[]>(liveKeys.devices, (ds) =>
                        ds?.map((x) => (x.id === nd.id ? nd : x)),
                      )
                    }
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
                  <select
                    value={hours}
                    onChange={(e) => {
                      setHours(Number(e.target.value));
                      setIndex(null);
                    }}
                  >
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
                      value={shown}
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
            fences={fences ?? NO_FENCES}
            editable={can(session, "geofence:manage")}
            onFencesChanged={() => client.invalidateQueries({ queryKey: liveKeys.geofences(props.id) })}
          />
        </section>
      </div>
      {r && can(session, "recipient:manage") && <ContactsSection recipientId={props.id} />}
      {r && <PrivacySection recipientId={props.id} name={name} />}
      {can(session, "activity:read") && r && <WhoLooked recipientId={props.id} name={name} staff={staff} />}
    </main>
  );
}
