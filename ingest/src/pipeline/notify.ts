/** NOTIFY of a platform event from inside a batch's transaction (delivered at commit). */
import { EVENTS_CHANNEL, type PlatformEvent } from "@vakt/schemas";
import type pg from "pg";
import type { DeviceRef } from "./decide";

export async function notify(client: pg.ClientBase, event: PlatformEvent): Promise<void> {
  await client.query("SELECT pg_notify($1, $2)", [EVENTS_CHANNEL, JSON.stringify(event)]);
}

/** Several events in one round trip, delivered at commit in this order. */
export async function notifyAll(client: pg.ClientBase, events: PlatformEvent[]): Promise<void> {
  if (events.length === 0) return;
  if (events.length === 1) return notify(client, events[0] as PlatformEvent);
  await client.query("SELECT count(pg_notify($1, e)) FROM unnest($2::text[]) AS e", [
    EVENTS_CHANNEL,
    events.map((e) => JSON.stringify(e)),
  ]);
}

export function scopeOf(device: DeviceRef) {
  return {
    organisationId: device.organisationId,
    departmentId: device.departmentId,
    recipientId: device.recipientId,
    deviceId: device.id,
  };
}
