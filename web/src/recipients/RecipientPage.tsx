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
  const { t } = useUi();
  const session = useSession();
  const client = useQueryClient();
  const [hours, setHours] = useState(24);
  /** The slider's point; null follows the newest. */
  const [index, setIndex] = useState<number | null>(null);
  const [reason, setReason] = useState<string | null>(null);
  const locator = needsReason(session);

  const { r, fences, devices, staff, errors } = useRecipientQueries(props.id);
  const { historyKey, historyQuery } = useHistoryQuery(props.id, hours, reason, locator);
  const history = locator && !reason ? null : (historyQuery.data ?? null);
  const failure = [...errors, historyQuery.error].find(Boolean);
  const error = failure ? t("common.error", { message: failure.message }) : null;

  // New fixes while the page is open and visible (a locate answer among them) join the history.
  const readsPositions = can(session, "position:read");
  useLiveHistory(props.id, readsPositions, historyKey, () => setIndex(null));

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
          <RecipientDevices recipientId={props.id} devices={devices} reason={reason} />
        </section>
        <section aria-labelledby="rec-history">
          <h2 id="rec-history">{t("recipient.history")}</h2>
          {locator && !reason ? (
            <ReasonForm onReason={setReason} />
          ) : (
            <HistoryControls
              hours={hours}
              onHours={(h) => {
                setHours(h);
                setIndex(null);
              }}
              history={history}
              shown={shown}
              onShown={setIndex}
            />
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

/** The recipient, their geofences (for those who may see places), devices, and staff names (for the log). */
function useRecipientQueries(recipientId: string) {
  const session = useSession();
  // Geofences say where the person lives: only for those who manage them or see positions (issue 15).
  const seesPlaces = (["geofence:manage", "position:read"] as const).some((p) => can(session, p));
  const recipientQuery = useQuery({
    queryKey: recipientKey(recipientId),
    queryFn: () =>
      data(api.GET("/api/v1/recipients/{id}", { params: { path: { id: recipientId } } }), recipient),
  });
  const fencesQuery = useQuery({
    queryKey: liveKeys.geofences(recipientId),
    enabled: seesPlaces,
    queryFn: () =>
      data(
        api.GET("/api/v1/geofences", { params: { query: { recipientId: recipientId } } }),
        z.array(geofence),
      ),
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
  const r = recipientQuery.data ?? null;
  const fences = seesPlaces ? fencesQuery.data : undefined;
  const devices = useMemo(
    () => (devicesQuery.data ?? NO_DEVICES).filter((d) => d.recipientId === recipientId && !d.retiredAt),
    [devicesQuery.data, recipientId],
  );
  const staff = useMemo(
    () => new Map((staffQuery.data ?? []).map((u) => [u.id, `${u.firstName} ${u.lastName}`])),
    [staffQuery.data],
  );
  // The staff list's failure is not shown (as before): the activity log names fewer people then.
  return { r, fences, devices, staff, errors: [recipientQuery.error, fencesQuery.error, devicesQuery.error] };
}

/** The recipient's positions over the chosen hours (a locator's only once they said why). */
function useHistoryQuery(recipientId: string, hours: number, reason: string | null, locator: boolean) {
  const historyKey = ["positions", "history", recipientId, hours, reason] as const;
  const historyQuery = useQuery({
    queryKey: historyKey,
    enabled: !(locator && !reason),
    queryFn: () => {
      const to = new Date();
      return data(
        api.GET("/api/v1/positions/recipients/{id}/history", {
          params: {
            path: { id: recipientId },
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
  return { historyKey, historyQuery };
}

type HistoryKey = readonly ["positions", "history", string, number, string | null];

/** New fixes while the page is open and visible join the history (the slider then follows the newest). */
function useLiveHistory(
  recipientId: string,
  readsPositions: boolean,
  historyKey: HistoryKey,
  onFix: () => void,
) {
  const client = useQueryClient();
  // biome-ignore lint/correctness/useExhaustiveDependencies: the key is made from the hours and reason (its last two parts), named here
  useEffect(() => {
    if (!readsPositions) return;
    const unwatch = watchPositions([recipientId]);
    const off = subscribeLive({
      position: (p) => {
        if (p.recipientId !== recipientId) return;
        client.setQueryData<History>(historyKey, (h) =>
          !h || h.points.some((x) => x.time === p.time)
            ? h
            : {
                ...h,
                points: [...h.points, { time: p.time, lat: p.lat, lon: p.lon, accuracyM: p.accuracyM }],
              },
        );
        onFix();
      },
    });
    return () => {
      off();
      unwatch();
    };
  }, [recipientId, readsPositions, client, historyKey[3], historyKey[4]]);
}

/** The recipient's devices, each with its locate button and configuration. */
function RecipientDevices(props: { recipientId: string; devices: Device[]; reason: string | null }) {
  const { t } = useUi();
  const session = useSession();
  const client = useQueryClient();
  const { devices, reason } = props;
  const readsPositions = can(session, "position:read");
  return (
    <>
      {/* Locators may not list devices: they locate through the recipient. */}
      {!can(session, "device:read") && can(session, "position:locate") && (
        <LocateButton deviceId={null} recipientId={props.recipientId} reason={reason} />
      )}
      {devices.length === 0
        ? can(session, "device:read") && <p className="muted">{t("recipient.noDevice")}</p>
        : devices.map((d) => (
            <div key={d.id}>
              {(readsPositions || can(session, "position:locate")) && (
                <LocateButton deviceId={d.id} recipientId={props.recipientId} reason={reason} />
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
    </>
  );
}

/** The range of the history, the slider through it, and the geofence transitions in it. */
function HistoryControls(props: {
  hours: number;
  onHours(hours: number): void;
  history: History | null;
  shown: number;
  onShown(index: number): void;
}) {
  const { t, dateTime } = useUi();
  const { history, shown } = props;
  const point = history?.points[shown] ?? null;
  return (
    <>
      <div className="form-row">
        <label className="inline">
          {t("map.trail")}
          <select value={props.hours} onChange={(e) => props.onHours(Number(e.target.value))}>
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
              onChange={(e) => props.onShown(Number(e.target.value))}
              aria-valuetext={point ? dateTime(point.time) : ""}
            />
            <output>{point ? dateTime(point.time) : ""}</output>
          </label>
        )}
      </div>
      {history && history.points.length === 0 && <p className="muted">{t("recipient.historyEmpty")}</p>}
      {history && history.transitions.length > 0 && (
        <>
          <h3>{t("recipient.transitions")}</h3>
          <ul className="transitions" data-testid="transitions">
            {history.transitions.map((x) => (
              <li key={`${x.time}-${x.event}`}>
                {t(x.event === "enter" ? "recipient.transition.enter" : "recipient.transition.leave", {
                  region: x.region ?? t("recipient.transition.unnamed"),
                  time: dateTime(x.time),
                })}
              </li>
            ))}
          </ul>
        </>
      )}
    </>
  );
}
