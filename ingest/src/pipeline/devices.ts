/** The devices' own rows: last seen, battery, charging, reported configuration, online. */
import type { PlatformEvent } from "@vakt/schemas";
import type pg from "pg";
import type { DeviceRef, DeviceSeen, StoreDecision } from "./decide";
import { notifyAll, scopeOf } from "./notify";
import { ts } from "./sql";

export interface DeviceUpdate {
  device: DeviceRef;
  seen: DeviceSeen;
}

/**
 * Folds what the batch says about each device into its row (last seen,
 * battery, charging, reported configuration, online) and announces devices
 * that came online or whose battery or charging changed. Rows are locked in id
 * order, so concurrent batches cannot deadlock on them.
 */
export async function updateDevices(
  client: pg.ClientBase,
  stores: StoreDecision[],
  filter: ((u: DeviceUpdate) => boolean) | undefined,
): Promise<{ events: number; written: DeviceUpdate[] }> {
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
  const updates = [...byDevice.values()]
    .filter((u) => filter?.(u) ?? true)
    .sort((a, b) => (a.device.id < b.device.id ? -1 : 1));
  let events = 0;
  if (updates.length > 0) {
    const changed = await client.query<{ id: string }>(
      `WITH u AS (
         SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::float8[], $4::boolean[], $5::text[], $6::boolean[])
                AS u(id, seen, bat, chg, cfg, online)
       ), prev AS (
         SELECT d.id, d.online, d.battery_percent, d.charging
         FROM devices d JOIN u ON u.id = d.id ORDER BY d.id FOR UPDATE OF d
       ), upd AS (
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
         FROM u WHERE d.id = u.id AND d.id IN (SELECT id FROM prev)
         RETURNING d.id, d.online, d.battery_percent, d.charging
       )
       SELECT upd.id FROM upd JOIN prev ON prev.id = upd.id
       WHERE prev.online IS DISTINCT FROM upd.online
          OR prev.battery_percent IS DISTINCT FROM upd.battery_percent
          OR prev.charging IS DISTINCT FROM upd.charging`,
      [
        updates.map((u) => u.device.id),
        updates.map((u) => u.seen.at),
        updates.map((u) => u.seen.batteryPct),
        updates.map((u) => u.seen.charging),
        updates.map((u) => (u.seen.reportedConfig ? JSON.stringify(u.seen.reportedConfig) : null)),
        updates.map((u) => u.seen.online),
      ],
    );
    // One statement for all of them: a fleet coming back online changes hundreds of rows in a batch.
    const changes: PlatformEvent[] = [];
    for (const row of changed.rows) {
      const u = byDevice.get(row.id);
      if (u) changes.push({ kind: "device.changed", ...scopeOf(u.device) });
    }
    await notifyAll(client, changes);
    events += changes.length;
  }
  return { events, written: updates };
}
