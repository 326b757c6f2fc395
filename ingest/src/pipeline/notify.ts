/** NOTIFY of a platform event from inside a batch's transaction (delivered at commit). */
import { EVENTS_CHANNEL, type PlatformEvent } from "@vakt/schemas";
import type pg from "pg";
import type { DeviceRef } from "./decide";

export async function notify(client: pg.ClientBase, event: PlatformEvent): Promise<void> {
  await client.query({
    name: "vakt_ingest_notify",
    text: "SELECT pg_notify($1, $2)",
    values: [EVENTS_CHANNEL, JSON.stringify(event)],
  });
}

export function scopeOf(device: DeviceRef) {
  return {
    organisationId: device.organisationId,
    departmentId: device.departmentId,
    recipientId: device.recipientId,
    deviceId: device.id,
  };
}
