/** The devices' own rows: last seen, battery, charging, reported configuration, online. */
import { EVENTS_CHANNEL } from "@vakt/schemas";
import type pg from "pg";
import type { DeviceRef, DeviceSeen, StoreDecision } from "./decide";
import { ts } from "./sql";

export interface DeviceUpdate {
  device: DeviceRef;
  seen: DeviceSeen;
}

/** What the batch says about each device, folded into one update per device, sorted by id (lock order). */
export function deviceUpdatesOf(
  stores: readonly StoreDecision[],
  filter: ((u: DeviceUpdate) => boolean) | undefined,
): DeviceUpdate[] {
  const byDevice = new Map<string, DeviceUpdate>();
  for (const s of stores) {
    const prev = byDevice.get(s.device.id);
    if (!prev) {
      byDevice.set(s.device.id, { device: s.device, seen: { ...s.seen } });
      continue;
    }
    prev.seen.at = Math.max(prev.seen.at, s.seen.at);
    prev.seen.online = s.seen.online;
    prev.seen.batteryPct = s.seen.batteryPct ?? prev.seen.batteryPct;
    prev.seen.charging = s.seen.charging ?? prev.seen.charging;
    prev.seen.reportedConfig = s.seen.reportedConfig ?? prev.seen.reportedConfig;
  }
  return [...byDevice.values()]
    .filter((u) => filter?.(u) ?? true)
    .sort((a, b) => (a.device.id < b.device.id ? -1 : 1));
}

/**
 * The device rows' update as common table expressions over nine arrays from parameter `$first` on
 * (deviceSeenValues), ending in `dev_changed`: the devices that came online or whose battery or
 * charging changed, each NOTIFYed (DEVICES_NOTIFIED counts them). Rows are locked in id order, so
 * concurrent batches cannot deadlock on them. Shared by updateDevices and the one-statement batch
 * (straight.ts), so both write a device row the same way.
 */
export function deviceSeenCtes(first: number): string {
  const $ = (i: number) => `$${first + i}`;
  return `du AS (
       SELECT * FROM unnest(${$(0)}::uuid[], ${$(1)}::bigint[], ${$(2)}::float8[], ${$(3)}::boolean[],
                            ${$(4)}::text[], ${$(5)}::boolean[], ${$(6)}::uuid[], ${$(7)}::uuid[], ${$(8)}::uuid[])
              AS u(id, seen, bat, chg, cfg, online, org, dept, rec)
     ), dev_prev AS (
       SELECT d.id, d.online, d.battery_percent, d.charging
       FROM devices d JOIN du ON du.id = d.id ORDER BY d.id FOR UPDATE OF d
     ), dev_upd AS (
       UPDATE devices d SET
         last_seen_at = CASE WHEN u.seen > 0 THEN GREATEST(d.last_seen_at, ${ts("u.seen")}) ELSE d.last_seen_at END,
         battery_percent = coalesce(round(u.bat)::smallint, d.battery_percent),
         charging = coalesce(u.chg, d.charging),
         reported_config = coalesce((u.cfg::jsonb) -> 'settings', d.reported_config),
         reported_config_version = coalesce(((u.cfg::jsonb) ->> 'version')::int, d.reported_config_version),
         -- A message received before the device went away (its will, or the drop the broker
         -- reported, committed first) does not bring it back: only one received after it does.
         online = CASE WHEN u.online AND d.offline_since IS NOT NULL AND u.seen > 0
                        AND ${ts("u.seen")} < d.offline_since THEN d.online ELSE u.online END
       FROM du u WHERE d.id = u.id AND d.id IN (SELECT id FROM dev_prev)
       RETURNING d.id, d.online, d.battery_percent, d.charging
     ), dev_changed AS (
       SELECT du.* FROM dev_upd JOIN dev_prev ON dev_prev.id = dev_upd.id JOIN du ON du.id = dev_upd.id
       WHERE dev_prev.online IS DISTINCT FROM dev_upd.online
          OR dev_prev.battery_percent IS DISTINCT FROM dev_upd.battery_percent
          OR dev_prev.charging IS DISTINCT FROM dev_upd.charging
     )`;
}

/** How many changed devices were announced; `channel` the parameter holding EVENTS_CHANNEL. */
export const devicesNotified = (channel: string) => `(SELECT count(pg_notify(${channel}, json_build_object(
       'kind', 'device.changed', 'organisationId', org, 'departmentId', dept, 'recipientId', rec,
       'deviceId', id)::text)) FROM dev_changed)::int`;

/** deviceSeenCtes' nine arrays. */
export function deviceSeenValues(updates: readonly DeviceUpdate[]): unknown[] {
  return [
    updates.map((u) => u.device.id),
    updates.map((u) => u.seen.at),
    updates.map((u) => u.seen.batteryPct),
    updates.map((u) => u.seen.charging),
    updates.map((u) => (u.seen.reportedConfig ? JSON.stringify(u.seen.reportedConfig) : null)),
    updates.map((u) => u.seen.online),
    updates.map((u) => u.device.organisationId),
    updates.map((u) => u.device.departmentId),
    updates.map((u) => u.device.recipientId),
  ];
}

/** The number of parameters deviceSeenCtes reads. */
export const DEVICE_SEEN_PARAMS = 9;

/**
 * Folds what the batch says about each device into its row and announces devices that came online
 * or whose battery or charging changed, in one round trip.
 */
export async function updateDevices(
  client: pg.ClientBase,
  stores: StoreDecision[],
  filter: ((u: DeviceUpdate) => boolean) | undefined,
): Promise<{ events: number; written: DeviceUpdate[] }> {
  const updates = deviceUpdatesOf(stores, filter);
  if (updates.length === 0) return { events: 0, written: updates };
  const { rows } = await client.query<{ events: number }>({
    name: "vakt_ingest_devices_seen",
    text: `WITH ${deviceSeenCtes(1)} SELECT ${devicesNotified(`$${DEVICE_SEEN_PARAMS + 1}`)} AS events`,
    values: [...deviceSeenValues(updates), EVENTS_CHANNEL],
  });
  return { events: rows[0]?.events ?? 0, written: updates };
}
