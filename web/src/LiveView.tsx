import { useQuery, useQueryClient } from "@tanstack/react-query";
import {
  type AlarmSummary,
  alarmList,
  currentPositions,
  device as deviceSchema,
  geofence,
  positionHistory,
} from "@vakt/schemas";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { z } from "zod";
import { AlarmQueue } from "./alarms/AlarmQueue";
import {
  type AskedMap,
  applyAlarmChange,
  applyAlert,
  askedKey,
  keepOpen,
  parseAsked,
  serialiseAsked,
} from "./alarms/asked";
import {
  beep,
  blinkTitle,
  closeDesktop,
  notifyDesktop,
  stopBlinking,
  unlockAudioOnGesture,
} from "./alarms/attention";
import { openAlarmsByRecipient } from "./alarms/queue";
import { activeAlarmsKey } from "./alarms/queue-cache";
import { useNewAlarmSound } from "./alarms/use-new-alarm-sound";
import { useSoundPrefs } from "./alarms/use-sound-prefs";
import { ApiProblem } from "./api/client";
import { subscribeLive, watchPositions } from "./api/live";
import { api, data } from "./api/typed";
import {
  devicesByRecipient,
  fetchedPositions,
  liveKeys,
  type Positions,
  queueCacheOf,
  withAlarmPosition,
  withDeviceChange,
  withLivePosition,
} from "./live-data";
import { LiveMap, type TrailPoint } from "./map/LiveMap";
import { LocatorLookup } from "./map/LocatorLookup";
import { type RecipientMarker, recipientMarkers } from "./map/markers";
import { ReasonForm } from "./map/ReasonForm";
import { RecipientList } from "./map/RecipientList";
import { SelectedRecipient } from "./map/SelectedRecipient";
import { can, needsReason, useSession, useUi } from "./session/context";

const alarmTag = (id: string) => `vakt-alarm-${id}`;
const NO_ALARMS: AlarmSummary[] = [];
// Stable empties: the map redraws when what it is given changes.
const NO_TRAIL: TrailPoint[] = [];
const NO_FENCES: z.infer<typeof geofence>[] = [];

/** The night shift's screen: the live map with the alarm queue beside it. */
export function LiveView() {
  const { t } = useUi();
  const session = useSession();
  const client = useQueryClient();
  const queue = queueCacheOf(client);
  const locator = needsReason(session);
  const readsAlarms = can(session, "alarm:read");
  const readsDevices = can(session, "device:read");
  const [reason, setReason] = useState<string | null>(null);
  const [selectedAlarm, setSelectedAlarm] = useState<string | null>(null);
  const [selectedRecipient, setSelectedRecipient] = useState<string | null>(null);
  const [followId, setFollowId] = useState<string | null>(null);
  const [trailHours, setTrailHours] = useState(0);
  const [focus, setFocus] = useState<{ lat: number; lon: number } | null>(null);
  const userId = session.me.user.id;
  const [sound, changeSound] = useSoundPrefs(userId);
  /** Alarms alert routing asked this user to take: they ring until someone takes them. */
  const [asked, setAsked] = useState<AskedMap>(() => parseAsked(sessionStorage.getItem(askedKey(userId))));
  const [now, setNow] = useState(() => Date.now());
  const soundRef = useRef(sound);
  soundRef.current = sound;
  /** Sounds for an alarm that is new to this console (or whose window just ended): the user's setting, and the title. */
  const soundNew = useCallback(() => {
    if (soundRef.current.newAlarms) beep();
    blinkTitle(t("queue.newAlarm"));
  }, [t]);
  const alarmsRef = useRef<readonly AlarmSummary[]>(NO_ALARMS);
  // A fall in its cancel window is quiet; when the window ends with the alarm still open, it sounds.
  const newAlarmSound = useNewAlarmSound(alarmsRef, soundNew);
  const showPositions = !locator || reason !== null;
  const positionsKey = liveKeys.positions(locator);

  useEffect(() => {
    unlockAudioOnGesture();
    const timer = window.setInterval(() => setNow(Date.now()), 30_000);
    return () => {
      window.clearInterval(timer);
      stopBlinking();
    };
  }, []);

  const alarmsQuery = useQuery({
    queryKey: activeAlarmsKey,
    enabled: readsAlarms,
    queryFn: async () => {
      const merged = await queue.fetch(() =>
        data(
          api.GET("/api/v1/alarms", { params: { query: { state: ["open", "acknowledged"], limit: 500 } } }),
          alarmList,
        ).then(
          (l) => l.items,
          (e: unknown) => {
            // Without the alarm routes (an older API) the map still works.
            if (e instanceof ApiProblem && e.status === 404) return [];
            throw e;
          },
        ),
      );
      newAlarmSound.fetched(merged);
      // Taken while this console was away (a reload, a lost connection): stop its ringing.
      setAsked((m) => keepOpen(m, merged));
      return merged;
    },
  });
  const alarms = readsAlarms ? (alarmsQuery.data ?? NO_ALARMS) : NO_ALARMS;
  alarmsRef.current = alarms;
  // Locators look up one recipient at a time (LocatorLookup); the bulk positions are not theirs.
  const positionsQuery = useQuery({
    queryKey: positionsKey,
    enabled: showPositions && !locator,
    queryFn: async () => {
      const fc = await data(api.GET("/api/v1/positions/current"), currentPositions);
      // Read after the answer: a live position that came meanwhile is newer than the list.
      return fetchedPositions(fc, client.getQueryData<Positions>(positionsKey));
    },
  });
  const devicesQuery = useQuery({
    queryKey: liveKeys.devices,
    enabled: readsDevices,
    queryFn: () => data(api.GET("/api/v1/devices"), z.array(deviceSchema)),
  });
  const positions = showPositions ? positionsQuery.data : undefined;
  const devices = useMemo(() => devicesByRecipient(devicesQuery.data), [devicesQuery.data]);
  const failed = [alarmsQuery.error, positionsQuery.error, devicesQuery.error].find(
    (e) => e && !(e instanceof ApiProblem && e.status === 401),
  );

  // The focused recipient's geofences and trail.
  const focusId = followId ?? selectedRecipient;
  const fences = useQuery({
    queryKey: liveKeys.geofences(focusId),
    enabled: focusId !== null,
    queryFn: () =>
      data(
        api.GET("/api/v1/geofences", { params: { query: { recipientId: focusId ?? "" } } }),
        z.array(geofence),
      ),
  });
  const trailKey = liveKeys.trail(focusId, trailHours, reason);
  const showTrail = focusId !== null && trailHours > 0 && showPositions;
  const trailQuery = useQuery({
    queryKey: trailKey,
    enabled: showTrail,
    queryFn: async (): Promise<TrailPoint[]> => {
      const to = new Date();
      const h = await data(
        api.GET("/api/v1/positions/recipients/{id}/history", {
          params: {
            path: { id: focusId ?? "" },
            query: {
              from: new Date(to.getTime() - trailHours * 3_600_000).toISOString(),
              to: to.toISOString(),
              maxPoints: 2000,
              reason: reason ?? undefined,
            },
          },
        }),
        positionHistory,
      );
      return h.points;
    },
  });
  const trail = showTrail ? (trailQuery.data ?? NO_TRAIL) : NO_TRAIL;

  useEffect(
    () =>
      subscribeLive({
        // A (re)connection or a watch resumed after a hidden tab: what came meanwhile was missed.
        connected: () => {
          void client.invalidateQueries({ queryKey: activeAlarmsKey });
          void client.invalidateQueries({ queryKey: positionsKey });
          void client.invalidateQueries({ queryKey: liveKeys.devices });
        },
        watchResumed: () => void client.invalidateQueries({ queryKey: positionsKey }),
        alert: (alert) => {
          const a = alert.alarm;
          if (a.state !== "open") return;
          setAsked((m) => applyAlert(m, alert, Date.now()));
          if (soundRef.current.asked) beep();
          const title =
            alert.step === null ? t("asked.reminderTitle") : t("asked.stepTitle", { step: alert.step });
          blinkTitle(title);
          if (document.visibilityState === "hidden" || !document.hasFocus())
            notifyDesktop(alarmTag(a.id), title, alarmLine(a, t));
        },
        alarm: (a, _isNew, change) => {
          // Sounds once, when new and out of its cancel window (or when the window ended).
          newAlarmSound.live(a);
          // Its open panel reloads on the same event (Shell's LiveCacheEvents), an escalation's too.
          if (!queue.live(a, change)) return;
          if (a.state !== "open") {
            setAsked((m) => applyAlarmChange(m, a));
            closeDesktop(alarmTag(a.id));
          }
          if (showPositions) client.setQueryData<Positions>(positionsKey, (m) => withAlarmPosition(m, a));
        },
        position: (p) => {
          if (!showPositions) return;
          client.setQueryData<Positions>(positionsKey, (m) => withLivePosition(m, p));
          if (p.recipientId === focusId)
            client.setQueryData<TrailPoint[]>(trailKey, (tr) =>
              tr && tr.length > 0 ? [...tr, { lat: p.lat, lon: p.lon, time: p.time }] : tr,
            );
        },
        device: (d) => {
          if (!d.recipientId) return;
          const list = client.getQueryData<z.infer<typeof deviceSchema>[]>(liveKeys.devices);
          const next = list && withDeviceChange(list, d);
          if (next) client.setQueryData(liveKeys.devices, next);
          // A device given to someone since the list was read.
          else if (list) void client.invalidateQueries({ queryKey: liveKeys.devices });
        },
      }),
    [client, queue, t, showPositions, positionsKey, focusId, trailKey, newAlarmSound.live],
  );

  // Positions are watched (and logged as watched) only while the map shows them and the tab is visible.
  useEffect(() => (showPositions ? watchPositions("all") : undefined), [showPositions]);

  useEffect(() => {
    sessionStorage.setItem(askedKey(userId), serialiseAsked(asked));
  }, [asked, userId]);

  // Re-sound until someone takes it: one beep every repeatS while any alarm this user was asked to take is open.
  // Only alarms this console lists ring: an alert for one it may not see (or has not loaded yet) stays silent.
  const ringing = alarms.some((a) => a.state === "open" && asked.has(a.id));
  useEffect(() => {
    if (!ringing || !sound.asked) return;
    const timer = window.setInterval(() => beep(), sound.repeatS * 1000);
    return () => window.clearInterval(timer);
  }, [ringing, sound.asked, sound.repeatS]);
  useEffect(() => {
    if (!ringing) stopBlinking();
  }, [ringing]);

  const openAlarms = useMemo(() => openAlarmsByRecipient(alarms), [alarms]);
  const markers: RecipientMarker[] = useMemo(
    () => recipientMarkers(positions?.values() ?? [], devices, openAlarms, now),
    [positions, devices, openAlarms, now],
  );
  const selected = markers.find((m) => m.recipientId === selectedRecipient) ?? null;

  return (
    <div className={readsAlarms ? "live" : "live live--map-only"}>
      <div className="live__map">
        {showPositions ? (
          <>
            <LiveMap
              markers={markers}
              selectedId={selectedRecipient}
              followId={followId}
              trail={trail}
              geofences={focusId ? (fences.data ?? NO_FENCES) : NO_FENCES}
              focus={focus}
              onSelect={setSelectedRecipient}
            />
            <p className="sr-only" role="status">
              {t("map.recipients", { count: markers.length })}
            </p>
            {locator && reason && (
              <LocatorLookup
                reason={reason}
                onFound={(p) => {
                  client.setQueryData<Positions>(positionsKey, p ? new Map([[p.recipientId, p]]) : new Map());
                  if (p) {
                    setSelectedRecipient(p.recipientId);
                    setFocus({ lat: p.lat, lon: p.lon });
                  }
                }}
              />
            )}
            <RecipientList
              markers={markers}
              onSelect={(m) => {
                setSelectedRecipient(m.recipientId);
                setFocus({ lat: m.lat, lon: m.lon });
              }}
            />
            {selected && (
              <SelectedRecipient
                marker={selected}
                following={followId === selected.recipientId}
                trailHours={trailHours}
                onFollow={(on) => setFollowId(on ? selected.recipientId : null)}
                onTrailHours={setTrailHours}
                onClose={() => {
                  setSelectedRecipient(null);
                  if (followId === selected.recipientId) setFollowId(null);
                }}
              />
            )}
          </>
        ) : (
          <ReasonForm onReason={setReason} />
        )}
        {failed && (
          <p className="error floating" role="alert">
            {t("common.error", { message: failed.message })}
          </p>
        )}
      </div>
      {readsAlarms && (
        <AlarmQueue
          alarms={alarms}
          selectedId={selectedAlarm}
          onSelect={setSelectedAlarm}
          onShowOnMap={(lat, lon, recipientId) => {
            setFocus({ lat, lon });
            if (recipientId) setSelectedRecipient(recipientId);
          }}
          asked={asked}
          sound={sound}
          onSoundChange={changeSound}
          reason={reason}
        />
      )}
    </div>
  );
}

/** "SOS · Kari Berg · Sone 1": the line a desktop notification carries. */
function alarmLine(a: AlarmSummary, t: ReturnType<typeof useUi>["t"]): string {
  const who = a.recipient ? `${a.recipient.firstName ?? ""} ${a.recipient.lastName ?? ""}`.trim() : "";
  return [t(`alarm.type.${a.type}`), who, a.department.name].filter(Boolean).join(" · ");
}
