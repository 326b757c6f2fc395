/**
 * Connections the broker reports: a device that drops without any last will (a wearable whose
 * battery died, a phone killed by its OS) is marked offline at once, so the supervisor raises
 * no_contact after INGEST_LAST_WILL_GRACE_S instead of at the next heartbeat timeout; a device
 * that connects again is online and seen.
 *
 * Mosquitto has no client-presence topic, but with `log_dest topic` it publishes its connection
 * log on `$SYS/broker/log/N` ("<epoch>: New client connected from <addr> as <id> (...)",
 * "<epoch>: Client <id> closed its connection."), and on the device listener the client id is the
 * username, the serial. Only a drop counts, a connection lost without DISCONNECT (the case in which
 * the broker would publish a last will): a device that says DISCONNECT ("Client <id>
 * disconnected.") chose to go, as trackers that connect for each report do, and is left to its
 * heartbeat timeout. The embedded broker publishes the same lines (embedded.ts). No device can
 * publish under `$SYS` on either broker, so only the broker speaks here. The lines come in the
 * broker's order on one topic, so a drop followed by a reconnect always ends online, whichever of
 * the device's own messages were still in a writer lane. A line lost (QoS 0, ingest away) costs
 * only the early warning: the heartbeat timeout still applies.
 */
import { EVENTS_CHANNEL } from "@vakt/schemas";
import type pg from "pg";
import { SERVICE_CLIENT_ID_PREFIX } from "./mosquitto-files";

export const BROKER_LOG_TOPIC = "$SYS/broker/log/N";

export interface PresenceEvent {
  clientId: string;
  connected: boolean;
}

/** The serial alphabet of the devices table; anything else is not a device's client id. */
const CLIENT_ID = "([A-Za-z0-9_-]{1,64})";
const CONNECTED = new RegExp(`^\\d+: New client connected from \\S+ as ${CLIENT_ID} \\(`);
const GONE = [
  new RegExp(`^\\d+: Client ${CLIENT_ID} (?:closed its connection|disconnected due to [a-z ]+)\\.$`),
  new RegExp(`^\\d+: Client ${CLIENT_ID} has exceeded timeout, disconnecting\\.$`),
  new RegExp(`^\\d+: Socket error on client ${CLIENT_ID}, disconnecting\\.$`),
];

/** A broker log line about a device's connection, or undefined for every other line. */
export function parseBrokerLogLine(line: string): PresenceEvent | undefined {
  const up = CONNECTED.exec(line);
  const id = up?.[1] ?? GONE.map((re) => re.exec(line)?.[1]).find((x) => x !== undefined);
  if (id === undefined || id.toLowerCase().startsWith(SERVICE_CLIENT_ID_PREFIX)) return undefined;
  return { clientId: id, connected: up !== null };
}

/**
 * Applies one event: the device's id when its row changed (and device.changed was announced).
 * Only a device that can hold an MQTT connection is touched; an OsmAnd device's serial never is.
 */
export async function applyPresence(
  pool: pg.Pool,
  event: PresenceEvent,
  now: number,
): Promise<string | undefined> {
  const { rows } = await pool.query<{ id: string }>(
    `WITH d AS (
       UPDATE devices SET online = $2,
              last_seen_at = CASE WHEN $2 THEN GREATEST(last_seen_at, to_timestamp($3::float8 / 1000))
                                  ELSE last_seen_at END
        WHERE serial = $1 AND retired_at IS NULL AND protocol IN ('mqtt', 'owntracks') AND online <> $2
        RETURNING id, organisation_id, department_id, recipient_id
     )
     SELECT d.id, pg_notify($4, json_build_object('kind', 'device.changed', 'organisationId', d.organisation_id,
              'departmentId', d.department_id, 'recipientId', d.recipient_id, 'deviceId', d.id)::text)
       FROM d`,
    [event.clientId, event.connected, now, EVENTS_CHANNEL],
  );
  return rows[0]?.id;
}
