/**
 * The live view's server state in TanStack Query's cache, and how each socket event changes it:
 * the pure updaters below are what the live handlers hand to `setQueryData`, so no screen keeps its
 * own copy to merge by hand. The alarm queue's part is in alarms/queue-cache.ts.
 */
import type { QueryClient } from "@tanstack/react-query";
import type { AlarmSummary, currentPositions, Device, LiveDeviceChanged, LivePosition } from "@vakt/schemas";
import type { z } from "zod";
import { type AlarmQueueCache, alarmQueueCache } from "./alarms/queue-cache";
import type { KnownDevice, KnownPosition } from "./map/markers";

export const liveKeys = {
  /** The map's positions: all the user may see, or (for a locator) the one looked up. */
  positions: (locator: boolean) => ["positions", locator ? "looked-up" : "current"] as const,
  trail: (recipientId: string | null, hours: number, reason: string | null) =>
    ["positions", "history", recipientId, hours, reason] as const,
  devices: ["devices"] as const,
  geofences: (recipientId: string | null) => ["geofences", recipientId] as const,
  profile: ["auth", "profile"] as const,
  /** One alarm's detail (who was asked, comments, calls): a live event about it invalidates it. */
  alarm: (id: string) => ["alarm", id] as const,
};

export type Positions = ReadonlyMap<string, KnownPosition>;

const queues = new WeakMap<QueryClient, AlarmQueueCache>();
/** The one queue cache of this query client (one per logged-in session). */
export function queueCacheOf(client: QueryClient): AlarmQueueCache {
  const known = queues.get(client);
  if (known) return known;
  const made = alarmQueueCache(client);
  queues.set(client, made);
  return made;
}

/** The fetched positions, keeping a live one that came while they were fetched (it is newer). */
export function fetchedPositions(
  fc: z.infer<typeof currentPositions>,
  before: Positions | undefined,
): Positions {
  const m = new Map<string, KnownPosition>();
  for (const f of fc.features) {
    const [lon, lat] = f.geometry.coordinates;
    const p: KnownPosition = {
      recipientId: f.properties.recipientId,
      name: f.properties.name,
      departmentId: f.properties.departmentId,
      lat,
      lon,
      accuracyM: f.properties.accuracyM,
      time: f.properties.time,
      batteryPercent: f.properties.batteryPercent,
    };
    const live = before?.get(p.recipientId);
    m.set(
      p.recipientId,
      live && Date.parse(live.time) > Date.parse(p.time) ? { ...p, ...live, name: p.name } : p,
    );
  }
  return m;
}

export function withLivePosition(m: Positions | undefined, p: LivePosition): Positions {
  const next = new Map(m);
  next.set(p.recipientId, {
    recipientId: p.recipientId,
    name: m?.get(p.recipientId)?.name ?? null,
    departmentId: p.departmentId,
    lat: p.lat,
    lon: p.lon,
    accuracyM: p.accuracyM,
    time: p.time,
    batteryPercent: p.batteryPercent,
  });
  return next;
}

/** The alarm's own position is the newest known while the live position has not come yet. */
export function withAlarmPosition(m: Positions | undefined, a: AlarmSummary): Positions | undefined {
  const r = a.recipient;
  const at = a.position;
  if (!r || !at) return m;
  const prev = m?.get(r.id);
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
}

/** A device's pushed state laid over the listed device; undefined when the list does not have it. */
export function withDeviceChange(list: readonly Device[], d: LiveDeviceChanged): Device[] | undefined {
  if (!list.some((x) => x.id === d.deviceId)) return undefined;
  return list.map((x) =>
    x.id === d.deviceId
      ? { ...x, online: d.online, batteryPercent: d.batteryPercent, lastSeenAt: d.lastSeenAt }
      : x,
  );
}

/** The map's devices by recipient: those given to someone and not retired. */
export function devicesByRecipient(list: readonly Device[] | undefined): Map<string, KnownDevice> {
  const m = new Map<string, KnownDevice>();
  for (const d of list ?? [])
    if (d.recipientId && !d.retiredAt)
      m.set(d.recipientId, {
        deviceId: d.id,
        recipientId: d.recipientId,
        online: d.online,
        batteryPercent: d.batteryPercent,
        lowBatteryPct: d.desiredConfig.lowBatteryPct,
        lastSeenAt: d.lastSeenAt,
      });
  return m;
}
