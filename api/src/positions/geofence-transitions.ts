/**
 * Geofence transitions on the recipient's timeline (device_transitions, from OwnTracks). Position data:
 * read only inside positionHistory, after its scope and reason checks, and counted in its log entry.
 * Nothing that names a device or region id goes out, so a pseudonymous caller sees no real ids.
 */
import type { GeofenceTransition, RecipientExport } from "@vakt/schemas";
import type { Queryable } from "@vakt/storage";

/** A timeline lists at most this many; a geofence is crossed a few times a day. */
export const MAX_TRANSITIONS = 1_000;

const TRIGGERS: Record<string, GeofenceTransition["trigger"]> = { c: "circular", b: "beacon", l: "location" };

export async function recipientTransitions(
  tx: Queryable,
  organisationId: string,
  recipientId: string,
  from: Date,
  to: Date,
): Promise<GeofenceTransition[]> {
  const { rows } = await tx.query<{
    time: Date;
    event: "enter" | "leave";
    region_desc: string | null;
    trigger: string | null;
    lat: number;
    lon: number;
    accuracy_m: number | null;
  }>(
    `SELECT time, event, region_desc, trigger, lat, lon, accuracy_m FROM device_transitions
      WHERE organisation_id = $1 AND recipient_id = $2 AND time >= $3 AND time < $4
      ORDER BY time, message_id LIMIT $5`,
    [organisationId, recipientId, from, to, MAX_TRANSITIONS],
  );
  return rows.map((r) => ({
    time: r.time.toISOString(),
    event: r.event,
    region: r.region_desc,
    trigger: r.trigger === null ? null : (TRIGGERS[r.trigger] ?? "other"),
    lat: Number(r.lat),
    lon: Number(r.lon),
    accuracyM: r.accuracy_m === null ? null : Number(r.accuracy_m),
  }));
}

/** Erasure: every transition of the recipient; the number removed. */
export async function eraseTransitions(
  tx: Queryable,
  organisationId: string,
  recipientId: string,
): Promise<number> {
  const r = await tx.query(
    "DELETE FROM device_transitions WHERE organisation_id = $1 AND recipient_id = $2",
    [organisationId, recipientId],
  );
  return r.rowCount ?? 0;
}

/** The recipient's export: every stored field, in the positions' range, only where positions may be read. */
export async function exportTransitions(
  tx: Queryable,
  organisationId: string,
  recipientId: string,
  from: Date,
  to: Date,
  mayReadPositions: boolean,
): Promise<RecipientExport["regionTransitions"]> {
  const { rows } = await tx.query(
    `SELECT time, device_id, event, region_desc, region_id, region_time, trigger, lat, lon, accuracy_m
       FROM device_transitions
      WHERE organisation_id = $1 AND recipient_id = $2 AND time >= $3 AND time < $4 AND $5::boolean
      ORDER BY time, message_id`,
    [organisationId, recipientId, from, to, mayReadPositions],
  );
  return {
    items: rows.map((r) => ({
      time: (r.time as Date).toISOString(),
      deviceId: r.device_id,
      event: r.event,
      regionDesc: r.region_desc,
      regionId: r.region_id,
      regionTime: r.region_time === null ? null : (r.region_time as Date).toISOString(),
      trigger: r.trigger,
      lat: Number(r.lat),
      lon: Number(r.lon),
      accuracyM: r.accuracy_m === null ? null : Number(r.accuracy_m),
    })),
    omitted: mayReadPositions
      ? null
      : "Left out: region transitions are positions and need position:read here.",
  };
}
