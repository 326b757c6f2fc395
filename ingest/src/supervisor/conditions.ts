/**
 * Conditions the platform derives from what devices report (or fail to):
 * a pure function of a device snapshot, the previous state of each condition
 * and the clock. Hysteresis keeps a reading near a threshold from raising
 * and clearing an alarm over and over.
 */
import { deviceSettings } from "@vakt/schemas";
import type { DeviceRef } from "../pipeline/decide";
import { type GeofenceShape, type LatLon, signedBoundaryDistanceM } from "./geo";

export type ConditionType =
  | "no_contact"
  | "low_battery"
  | "geofence_exit"
  | "geofence_enter"
  | "outdated_position";

export const conditionSeverity: Record<ConditionType, "critical" | "high" | "medium" | "low"> = {
  no_contact: "high",
  low_battery: "medium",
  geofence_exit: "high",
  geofence_enter: "high",
  outdated_position: "low",
};

export interface GeofenceSnapshot {
  id: string;
  name: string;
  shape: GeofenceShape;
  alarmOn: "exit" | "enter" | "both";
  /** "HH:MM[:SS]" in the organisation's time zone; both null: always. */
  windowStart: string | null;
  windowEnd: string | null;
}

export interface DeviceSnapshot {
  device: DeviceRef;
  lastSeenAt: number | null;
  /** When it went away (a last will, a disconnect the broker reported); null while online. */
  offlineSince: number | null;
  batteryPct: number | null;
  charging: boolean | null;
  /** devices.desired_config (device settings); missing values take the defaults. */
  desiredConfig: unknown;
  latestFix: { t: number; lat: number; lon: number; accM: number | null } | null;
  geofences: GeofenceSnapshot[];
  timeZone: string;
}

export interface ConditionVerdict {
  type: ConditionType;
  key: string;
  active: boolean;
  details: Record<string, unknown>;
  at: LatLon | null;
}

export interface ConditionOptions {
  /** A position older than this is outdated (Safemate's default: 7 days). */
  outdatedPositionMs: number;
  /** Battery must climb this far above the threshold (or charge) before a new low-battery alarm can come. */
  batteryHysteresisPct: number;
  /** Least distance beyond a geofence boundary that counts as crossing it. */
  geofenceMarginM: number;
  /** A device gone away (last will, reported disconnect) this long has no contact (default 2 minutes). */
  lastWillGraceMs: number;
}

export const defaultConditionOptions: ConditionOptions = {
  outdatedPositionMs: 7 * 24 * 3600_000,
  batteryHysteresisPct: 10,
  geofenceMarginM: 25,
  lastWillGraceMs: 120_000,
};

export type PreviousState = (type: ConditionType, key: string) => boolean | undefined;

const DEFAULT_HEARTBEAT_S = 900;
const DEFAULT_LOW_BATTERY_PCT = 20;

export function settingsOf(desired: unknown): { heartbeatIntervalS: number; lowBatteryPct: number } {
  const r = deviceSettings.partial().safeParse(desired ?? {});
  const s = r.success ? r.data : {};
  return {
    heartbeatIntervalS: s.heartbeatIntervalS ?? DEFAULT_HEARTBEAT_S,
    lowBatteryPct: s.lowBatteryPct ?? DEFAULT_LOW_BATTERY_PCT,
  };
}

/** The supervision interval: the heartbeat interval plus a grace (10 %, at least two minutes). */
export function supervisionMs(heartbeatIntervalS: number): number {
  return heartbeatIntervalS * 1000 + Math.max(120_000, heartbeatIntervalS * 100);
}

/** Is `now` inside the daily window [start, end) in `timeZone`? A window may wrap midnight. */
export function withinDailyWindow(
  now: number,
  timeZone: string,
  start: string | null,
  end: string | null,
): boolean {
  if (start === null || end === null) return true;
  const local = new Intl.DateTimeFormat("en-GB", {
    timeZone,
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).format(new Date(now));
  const norm = (t: string) => (t.length === 5 ? `${t}:00` : t.slice(0, 8));
  const [s, e] = [norm(start), norm(end)];
  if (s === e) return true;
  return s < e ? local >= s && local < e : local >= s || local < e;
}

export function evaluateConditions(
  snap: DeviceSnapshot,
  previous: PreviousState,
  now: number,
  options: ConditionOptions = defaultConditionOptions,
): ConditionVerdict[] {
  const out: ConditionVerdict[] = [];
  const settings = settingsOf(snap.desiredConfig);
  const fixAt = snap.latestFix ? { lat: snap.latestFix.lat, lon: snap.latestFix.lon } : null;

  if (snap.lastSeenAt !== null || snap.offlineSince !== null) {
    const limit = supervisionMs(settings.heartbeatIntervalS);
    const silent = snap.lastSeenAt !== null && now - snap.lastSeenAt > limit;
    // Gone away: a short grace for a reconnect, not the whole heartbeat interval.
    const gone = snap.offlineSince !== null && now - snap.offlineSince >= options.lastWillGraceMs;
    out.push({
      type: "no_contact",
      key: "",
      active: silent || gone,
      details: {
        lastSeenAt: snap.lastSeenAt === null ? null : new Date(snap.lastSeenAt).toISOString(),
        supervisionS: limit / 1000,
        ...(snap.offlineSince !== null
          ? {
              offlineSince: new Date(snap.offlineSince).toISOString(),
              graceS: options.lastWillGraceMs / 1000,
            }
          : {}),
        reason: silent ? "heartbeat_timeout" : gone ? "went_away" : null,
      },
      at: fixAt,
    });
  }

  if (snap.batteryPct !== null) {
    const was = previous("low_battery", "") ?? false;
    const threshold = settings.lowBatteryPct;
    let active: boolean;
    if (snap.charging === true) active = false;
    else if (snap.batteryPct <= threshold) active = true;
    else if (snap.batteryPct >= threshold + options.batteryHysteresisPct) active = false;
    else active = was;
    out.push({
      type: "low_battery",
      key: "",
      active,
      details: { batteryPct: snap.batteryPct, threshold },
      at: fixAt,
    });
  }

  if (snap.latestFix) {
    const fix = snap.latestFix;
    out.push({
      type: "outdated_position",
      key: "",
      active: now - fix.t > options.outdatedPositionMs,
      details: { positionTime: new Date(fix.t).toISOString() },
      at: fixAt,
    });
    out.push(...geofenceVerdicts(snap, fix, previous, now, options));
  }
  return out;
}

/** Exit and enter conditions of each geofence, against the newest fix (a margin band keeps the last state). */
function geofenceVerdicts(
  snap: DeviceSnapshot,
  fix: NonNullable<DeviceSnapshot["latestFix"]>,
  previous: PreviousState,
  now: number,
  options: ConditionOptions,
): ConditionVerdict[] {
  const out: ConditionVerdict[] = [];
  const fixAt = { lat: fix.lat, lon: fix.lon };
  for (const g of snap.geofences) {
    const inWindow = withinDailyWindow(now, snap.timeZone, g.windowStart, g.windowEnd);
    const margin = Math.max(options.geofenceMarginM, Math.min(fix.accM ?? 0, 200));
    const d = signedBoundaryDistanceM(fix, g.shape);
    // Clearly outside, clearly inside, or within the margin band (undecided: keep the last state).
    const outside = d > margin ? true : d < -margin ? false : undefined;
    const details = { geofenceId: g.id, geofence: g.name, distanceToBoundaryM: Math.round(d) };
    if (g.alarmOn === "exit" || g.alarmOn === "both") {
      const was = previous("geofence_exit", g.id) ?? false;
      const active = inWindow && (outside ?? was);
      out.push({ type: "geofence_exit", key: g.id, active, details, at: fixAt });
    }
    if (g.alarmOn === "enter" || g.alarmOn === "both") {
      const was = previous("geofence_enter", g.id) ?? false;
      const active = inWindow && (outside === undefined ? was : !outside);
      out.push({ type: "geofence_enter", key: g.id, active, details, at: fixAt });
    }
  }
  return out;
}
