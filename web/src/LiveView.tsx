import {
  type AlarmSummary,
  alarmList,
  currentPositions,
  device as deviceSchema,
  type Geofence,
  geofence,
  positionHistory,
  profile,
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
  LEGACY_SOUND_KEY,
  parseAsked,
  parseSoundPrefs,
  type SoundPrefs,
  serialiseAsked,
  soundKey,
} from "./alarms/asked";
import {
  beep,
  blinkTitle,
  closeDesktop,
  notifyDesktop,
  stopBlinking,
  unlockAudioOnGesture,
} from "./alarms/attention";
import { mergeFetchedQueue, openAlarmsByRecipient, upsertAlarm } from "./alarms/queue";
import { useNewAlarmSound } from "./alarms/use-new-alarm-sound";
import { ApiProblem, get, send } from "./api/client";
import { subscribeLive, watchPositions } from "./api/live";
import { LiveMap, type TrailPoint } from "./map/LiveMap";
import { LocatorLookup } from "./map/LocatorLookup";
import { type KnownDevice, type KnownPosition, type RecipientMarker, recipientMarkers } from "./map/markers";
import { ReasonForm } from "./map/ReasonForm";
import { RecipientList } from "./map/RecipientList";
import { SelectedRecipient } from "./map/SelectedRecipient";
import { can, needsReason, useSession, useUi } from "./session/context";

const alarmTag = (id: string) => `vakt-alarm-${id}`;

/** The night shift's screen: the live map with the alarm queue beside it. */
export function LiveView() {
  const { t } = useUi();
  const session = useSession();
  const locator = needsReason(session);
  const readsAlarms = can(session, "alarm:read");
  const readsDevices = can(session, "device:read");
  const [reason, setReason] = useState<string | null>(null);
  const [positions, setPositions] = useState<Map<string, KnownPosition>>(new Map());
  const [devices, setDevices] = useState<Map<string, KnownDevice>>(new Map());
  const [alarms, setAlarms] = useState<AlarmSummary[]>([]);
  const [selectedAlarm, setSelectedAlarm] = useState<string | null>(null);
  const [selectedRecipient, setSelectedRecipient] = useState<string | null>(null);
  const [followId, setFollowId] = useState<string | null>(null);
  const [trailHours, setTrailHours] = useState(0);
  const [trail, setTrail] = useState<TrailPoint[]>([]);
  const [fences, setFences] = useState<Geofence[]>([]);
  const [focus, setFocus] = useState<{ lat: number; lon: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const userId = session.me.user.id;
  const [sound, setSound] = useState<SoundPrefs>(() =>
    parseSoundPrefs(localStorage.getItem(soundKey(userId)), localStorage.getItem(LEGACY_SOUND_KEY)),
  );
  // Sound is the user's, kept on the server; this browser's copy is the fallback while it cannot be read.
  useEffect(() => {
    get("/auth/profile", profile)
      .then((p) => {
        if (p.sound) {
          setSound(p.sound);
          localStorage.setItem(soundKey(userId), JSON.stringify(p.sound));
        } else if (localStorage.getItem(soundKey(userId))) {
          // Settings made in this browser before they were kept on the server move there.
          const local = parseSoundPrefs(localStorage.getItem(soundKey(userId)), null);
          send("PATCH", "/auth/profile", { sound: local }, profile).catch(() => undefined);
        }
      })
      .catch(() => undefined);
  }, [userId]);
  /** Alarms alert routing asked this user to take: they ring until someone takes them. */
  const [asked, setAsked] = useState<AskedMap>(() => parseAsked(sessionStorage.getItem(askedKey(userId))));
  /** Bumped on every live event about an alarm, so its open panel reloads (who was asked, comments). */
  const [revisions, setRevisions] = useState<ReadonlyMap<string, number>>(new Map());
  const [now, setNow] = useState(() => Date.now());
  /** One list per alarm fetch under way: the live alarm events that arrived meanwhile. */
  const alarmFetches = useRef(new Set<AlarmSummary[]>());
  const alarmsRef = useRef(alarms);
  alarmsRef.current = alarms;
  const soundRef = useRef(sound);
  soundRef.current = sound;
  /** Sounds for an alarm that is new to this console (or whose window just ended): the user's setting, and the title. */
  const soundNew = useCallback(() => {
    if (soundRef.current.newAlarms) beep();
    blinkTitle(t("queue.newAlarm"));
  }, [t]);
  // A fall in its cancel window is quiet; when the window ends with the alarm still open, it sounds.
  const newAlarmSound = useNewAlarmSound(alarmsRef, soundNew);
  const showPositions = !locator || reason !== null;

  useEffect(() => {
    unlockAudioOnGesture();
    const timer = window.setInterval(() => setNow(Date.now()), 30_000);
    return () => {
      window.clearInterval(timer);
      stopBlinking();
    };
  }, []);

  const refresh = useCallback(async () => {
    try {
      const jobs: Promise<void>[] = [];
      // Locators look up one recipient at a time (LocatorLookup); the bulk positions are not theirs.
      if (showPositions && !locator)
        jobs.push(
          get("/positions/current", currentPositions, { reason: reason ?? undefined }).then((fc) => {
            const m = new Map<string, KnownPosition>();
            for (const f of fc.features) {
              const [lon, lat] = f.geometry.coordinates;
              m.set(f.properties.recipientId, {
                recipientId: f.properties.recipientId,
                name: f.properties.name,
                departmentId: f.properties.departmentId,
                lat,
                lon,
                accuracyM: f.properties.accuracyM,
                time: f.properties.time,
                batteryPercent: f.properties.batteryPercent,
              });
            }
            // A live position that came while this was fetched is newer than the list: keep it.
            setPositions((prev) => {
              for (const [id, p] of m) {
                const live = prev.get(id);
                if (live && Date.parse(live.time) > Date.parse(p.time))
                  m.set(id, { ...p, ...live, name: p.name });
              }
              return m;
            });
          }),
        );
      if (readsDevices)
        jobs.push(
          get("/devices", z.array(deviceSchema)).then((list) => {
            const m = new Map<string, KnownDevice>();
            for (const d of list)
              if (d.recipientId && !d.retiredAt)
                m.set(d.recipientId, {
                  deviceId: d.id,
                  recipientId: d.recipientId,
                  online: d.online,
                  batteryPercent: d.batteryPercent,
                  lowBatteryPct: d.desiredConfig.lowBatteryPct,
                  lastSeenAt: d.lastSeenAt,
                });
            setDevices(m);
          }),
        );
      if (readsAlarms) {
        const during: AlarmSummary[] = [];
        alarmFetches.current.add(during);
        jobs.push(
          get("/alarms", alarmList, { state: "open,acknowledged", limit: 500 })
            .then(
              (l) => {
                const merged = mergeFetchedQueue(l.items, during);
                newAlarmSound.fetched(merged);
                setAlarms(merged);
                // Taken while this console was away (a reload, a lost connection): stop its ringing.
                setAsked((m) => keepOpen(m, merged));
              },
              (e: unknown) => {
                // Without the alarm routes (an older API) the map still works.
                if (!(e instanceof ApiProblem && e.status === 404)) throw e;
              },
            )
            .finally(() => alarmFetches.current.delete(during)),
        );
      }
      await Promise.all(jobs);
      setError(null);
    } catch (e) {
      if (!(e instanceof ApiProblem && e.status === 401))
        setError(t("common.error", { message: e instanceof Error ? e.message : String(e) }));
    }
  }, [showPositions, locator, reason, readsDevices, readsAlarms, t, newAlarmSound.fetched]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  useEffect(
    () =>
      subscribeLive({
        connected: () => void refresh(),
        watchResumed: () => void refresh(),
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
          // An escalation changes no state; its summary may have been read before a take that
          // overtook it on the way here, so it only reloads the open panel (never moves the alarm back).
          const escalated = change === "escalated" && alarmsRef.current.some((q) => q.id === a.id);
          // Sounds once, when new and out of its cancel window (or when the window ended).
          newAlarmSound.live(a);
          if (escalated) {
            setRevisions((r) => new Map(r).set(a.id, (r.get(a.id) ?? 0) + 1));
            return;
          }
          for (const during of alarmFetches.current) during.push(a);
          setAlarms((q) => upsertAlarm(q, a));
          setRevisions((r) => new Map(r).set(a.id, (r.get(a.id) ?? 0) + 1));
          if (a.state !== "open") {
            setAsked((m) => applyAlarmChange(m, a));
            closeDesktop(alarmTag(a.id));
          }
          // The alarm's own position is the newest we know when the live position has not come yet.
          const r = a.recipient;
          const at = a.position;
          if (showPositions && r && at)
            setPositions((m) => {
              const prev = m.get(r.id);
              if (prev && Date.parse(prev.time) >= Date.parse(a.raisedAt)) return m;
              const next = new Map(m);
              next.set(r.id, {
                recipientId: r.id,
                name: prev?.name ?? (`${r.firstName ?? ""} ${r.lastName ?? ""}`.trim() || null),
                departmentId: a.department.id,
                lat: at.lat,
                lon: at.lon,
                accuracyM: at.accuracyM,
                time: a.raisedAt,
                batteryPercent: a.device.batteryPercent,
              });
              return next;
            });
        },
        position: (p) => {
          if (!showPositions) return;
          setPositions((m) => {
            const prev = m.get(p.recipientId);
            const next = new Map(m);
            next.set(p.recipientId, {
              recipientId: p.recipientId,
              name: prev?.name ?? null,
              departmentId: p.departmentId,
              lat: p.lat,
              lon: p.lon,
              accuracyM: p.accuracyM,
              time: p.time,
              batteryPercent: p.batteryPercent,
            });
            return next;
          });
          setTrail((tr) =>
            tr.length > 0 && (p.recipientId === followId || p.recipientId === selectedRecipient)
              ? [...tr, { lat: p.lat, lon: p.lon, time: p.time }]
              : tr,
          );
        },
        device: (d) => {
          if (!d.recipientId) return;
          const rid = d.recipientId;
          setDevices((m) => {
            const prev = m.get(rid);
            const next = new Map(m);
            next.set(rid, {
              deviceId: d.deviceId,
              recipientId: rid,
              online: d.online,
              batteryPercent: d.batteryPercent,
              lowBatteryPct: prev?.lowBatteryPct ?? 20,
              lastSeenAt: d.lastSeenAt,
            });
            return next;
          });
        },
      }),
    [refresh, t, showPositions, followId, selectedRecipient, newAlarmSound.live],
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

  // The focused recipient's geofences and trail.
  const focusId = followId ?? selectedRecipient;
  useEffect(() => {
    setFences([]);
    if (!focusId) return;
    get("/geofences", z.array(geofence), { recipientId: focusId })
      .then(setFences)
      .catch(() => setFences([]));
  }, [focusId]);
  useEffect(() => {
    setTrail([]);
    if (!focusId || trailHours === 0 || !showPositions) return;
    const to = new Date();
    get(`/positions/recipients/${focusId}/history`, positionHistory, {
      from: new Date(to.getTime() - trailHours * 3_600_000).toISOString(),
      to: to.toISOString(),
      maxPoints: 2000,
      reason: reason ?? undefined,
    })
      .then((h) => setTrail(h.points))
      .catch(() => setTrail([]));
  }, [focusId, trailHours, showPositions, reason]);

  const openAlarms = useMemo(() => openAlarmsByRecipient(alarms), [alarms]);
  const markers: RecipientMarker[] = useMemo(
    () => recipientMarkers(positions.values(), devices, openAlarms, now),
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
              geofences={fences}
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
                  setPositions(p ? new Map([[p.recipientId, p]]) : new Map());
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
        {error && (
          <p className="error floating" role="alert">
            {error}
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
          onChanged={(a) => setAlarms((q) => upsertAlarm(q, a))}
          asked={asked}
          revisions={revisions}
          sound={sound}
          onSoundChange={(next) => {
            setSound(next);
            localStorage.setItem(soundKey(userId), JSON.stringify(next));
            // Offline, the local copy holds it until the next change reaches the server.
            send("PATCH", "/auth/profile", { sound: next }, profile).catch(() => undefined);
          }}
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
