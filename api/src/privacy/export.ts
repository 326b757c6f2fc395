/**
 * Access and portability (GDPR art. 15 and 20): everything stored about one
 * recipient, as JSON (schema `recipientExport` in @vakt/schemas, documented in
 * api/README.md) or as CSV files in a zip. Making an export is itself logged.
 */
import { csvText, type RecipientExport } from "@vakt/schemas";
import { type Queryable, withTransaction } from "@vakt/storage";
import { strToU8, zipSync } from "fflate";
import { type Caller, logActivity } from "../activity/writer";
import type { ApiDeps } from "../deps";
import { ApiError } from "../errors";
import { type Actor, allowedDepartments, holds } from "../policy";
import { exportTransitions } from "../positions/geofence-transitions";
import { RECIPIENT_COLUMNS, type RecipientRow, recipientFields } from "../recipients/service";
import { found } from "../service-helpers";

/** Said in the export, instead of positions, to a caller who may not read them. */
const POSITIONS_LEFT_OUT =
  "Left out: positions (and where alarms were raised) need the position:read permission here.";
type ActorCaller = Caller & { actor: Actor };

const DEFAULT_RANGE_DAYS = 30;
const iso = (d: Date | null) => (d ? d.toISOString() : null);
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

export async function buildRecipientExport(
  deps: ApiDeps,
  caller: ActorCaller,
  recipientId: string,
  q: {
    from?: string | undefined;
    to?: string | undefined;
    reason?: string | undefined;
    format: "json" | "zip";
  },
): Promise<RecipientExport> {
  const to = q.to ? new Date(q.to) : caller.now;
  const from = q.from ? new Date(q.from) : new Date(to.getTime() - DEFAULT_RANGE_DAYS * 86_400_000);
  if (!(from.getTime() < to.getTime()))
    throw new ApiError("validation_failed", "from must be before to.", {
      errors: [{ path: "from", message: "before to" }],
    });
  const allowed = await allowedDepartments(deps.pool, caller.actor, "recipient:manage");
  return withTransaction(deps.pool, async (tx) => {
    const { rows } = await tx.query<RecipientRow & { restricted_at: Date | null; created_at: Date }>(
      `SELECT ${RECIPIENT_COLUMNS}, restricted_at, created_at
         FROM recipients WHERE organisation_id = $1 AND department_id = ANY($2::uuid[]) AND id = $3`,
      [caller.organisationId, allowed, recipientId],
    );
    const r = found(rows[0], "recipient");
    // A restricted recipient's data go out only to an organisation administrator who says why.
    if (r.restricted_at && !(holds(caller.actor, "organisation:manage") && q.reason)) {
      throw new ApiError("not_found", "No such recipient, or not one you may see.");
    }
    const { devices, geofences, contacts } = await exportBasics(tx, caller.organisationId, recipientId);
    // Positions go out only to a caller who may read positions in the recipient's department.
    const mayReadPositions = (await allowedDepartments(tx, caller.actor, "position:read")).includes(
      r.department_id,
    );
    const positions = await exportPositions(
      tx,
      caller.organisationId,
      recipientId,
      from,
      to,
      mayReadPositions,
    );
    const regionTransitions = await exportTransitions(
      tx,
      caller.organisationId,
      recipientId,
      from,
      to,
      mayReadPositions,
    );
    const alarms = await exportAlarms(tx, caller.organisationId, recipientId, mayReadPositions);
    const activity = await exportActivity(tx, caller.organisationId, recipientId);
    const result: RecipientExport = {
      format: "vakt.recipient-export",
      version: 1,
      generatedAt: caller.now.toISOString(),
      organisationId: caller.organisationId,
      recipient: {
        ...recipientFields(r),
        restrictedAt: iso(r.restricted_at),
        createdAt: r.created_at.toISOString(),
      },
      devices,
      regionTransitions,
      geofences,
      contacts,
      positions: {
        from: from.toISOString(),
        to: to.toISOString(),
        items: positions,
        omitted: mayReadPositions ? null : POSITIONS_LEFT_OUT,
      },
      alarms,
      activity,
    };
    await logExport(tx, caller, recipientId, q, { from, to, mayReadPositions }, result);
    return result;
  });
}

/** The export is logged; the positions in it are a position view like any other, logged as one too. */
async function logExport(
  tx: Queryable,
  caller: ActorCaller,
  recipientId: string,
  q: { reason?: string | undefined; format: "json" | "zip" },
  { from, to, mayReadPositions }: { from: Date; to: Date; mayReadPositions: boolean },
  result: RecipientExport,
) {
  await logActivity(tx, caller, {
    action: "recipient.exported",
    subjectType: "recipient",
    subjectId: recipientId,
    recipientIds: [recipientId],
    reason: q.reason ?? null,
    details: {
      format: q.format,
      from: from.toISOString(),
      to: to.toISOString(),
      positions: result.positions.items.length,
      alarms: result.alarms.length,
      activity: result.activity.length,
    },
  });
  if (mayReadPositions) {
    // The positions in it are a position view like any other.
    await logActivity(tx, caller, {
      action: "position.history_viewed",
      subjectType: "recipient",
      subjectId: recipientId,
      recipientIds: [recipientId],
      reason: q.reason ?? null,
      details: {
        via: "export",
        from: from.toISOString(),
        to: to.toISOString(),
        points: result.positions.items.length,
      },
    });
  }
}

/** The recipient's devices, geofences and call list, as the export gives them. */
async function exportBasics(tx: Queryable, organisationId: string, recipientId: string) {
  const devices = await tx.query(
    `SELECT id, serial, model, last_seen_at, battery_percent FROM devices
      WHERE organisation_id = $1 AND recipient_id = $2 ORDER BY created_at, id`,
    [organisationId, recipientId],
  );
  const geofences = await tx.query(
    "SELECT id, name, shape, active, alarm_on FROM geofences WHERE organisation_id = $1 AND recipient_id = $2 ORDER BY name, id",
    [organisationId, recipientId],
  );
  const contacts = await tx.query(
    `SELECT id, position, name, relation, phone, notes, availability FROM recipient_contacts
      WHERE organisation_id = $1 AND recipient_id = $2 ORDER BY position, id`,
    [organisationId, recipientId],
  );
  return {
    devices: devices.rows.map((d) => ({
      id: d.id,
      serial: d.serial,
      model: d.model,
      lastSeenAt: iso(d.last_seen_at),
      batteryPercent: num(d.battery_percent),
    })),
    geofences: geofences.rows.map((g) => ({
      id: g.id,
      name: g.name,
      shape: g.shape,
      active: g.active,
      alarmOn: g.alarm_on,
    })),
    contacts: contacts.rows.map((k) => ({
      id: k.id,
      position: k.position,
      name: k.name,
      relation: k.relation,
      phone: k.phone,
      notes: k.notes,
      availability: k.availability,
    })),
  };
}

/** The positions in the range, when the caller may read positions in the recipient's department. */
async function exportPositions(
  tx: Queryable,
  organisationId: string,
  recipientId: string,
  from: Date,
  to: Date,
  mayReadPositions: boolean,
) {
  const positions = await tx.query(
    `SELECT time, device_id, lat, lon, accuracy_m, speed_mps, source, battery_percent FROM positions
      WHERE organisation_id = $1 AND recipient_id = $2 AND time >= $3 AND time < $4 AND $5::boolean
      ORDER BY time`,
    [organisationId, recipientId, from, to, mayReadPositions],
  );
  return positions.rows.map((p) => ({
    time: (p.time as Date).toISOString(),
    deviceId: p.device_id,
    lat: Number(p.lat),
    lon: Number(p.lon),
    accuracyM: num(p.accuracy_m),
    speedMps: num(p.speed_mps),
    source: p.source,
    batteryPercent: num(p.battery_percent),
  }));
}

/** The recipient's alarms with their transitions; where one was raised only for a caller who may read positions. */
async function exportAlarms(
  tx: Queryable,
  organisationId: string,
  recipientId: string,
  mayReadPositions: boolean,
) {
  const alarms = await tx.query(
    `SELECT a.id, a.type, a.severity, a.state, a.source, a.raised_at, a.received_at, a.lat, a.lon,
            a.acknowledged_at, a.closed_at, a.outcome,
            coalesce((SELECT jsonb_agg(jsonb_build_object('at', t.at, 'kind', t.kind, 'fromState', t.from_state,
                        'toState', t.to_state, 'actorUserId', t.actor_user_id, 'actorTokenId', t.actor_token_id,
                        'note', t.note,
                        -- Other kinds' details may hold coordinates; a call's say whom and how it went.
                        'details', CASE WHEN t.kind = 'called' THEN t.details ELSE '{}'::jsonb END) ORDER BY t.at, t.id)
                        FROM alarm_transitions t WHERE t.alarm_id = a.id), '[]'::jsonb) AS transitions
       FROM alarms a WHERE a.organisation_id = $1 AND a.recipient_id = $2 ORDER BY a.raised_at, a.id`,
    [organisationId, recipientId],
  );
  return alarms.rows.map((a) => ({
    id: a.id,
    type: a.type,
    severity: a.severity,
    state: a.state,
    source: a.source,
    raisedAt: (a.raised_at as Date).toISOString(),
    receivedAt: (a.received_at as Date).toISOString(),
    // Where an alarm was raised is a position too.
    lat: mayReadPositions ? num(a.lat) : null,
    lon: mayReadPositions ? num(a.lon) : null,
    acknowledgedAt: iso(a.acknowledged_at),
    closedAt: iso(a.closed_at),
    outcome: a.outcome,
    transitions: (a.transitions as Record<string, unknown>[]).map((t) => ({
      at: new Date(t.at as string).toISOString(),
      kind: t.kind as string,
      fromState: (t.fromState as string | null) ?? null,
      toState: (t.toState as string | null) ?? null,
      actorUserId: (t.actorUserId as string | null) ?? null,
      actorTokenId: (t.actorTokenId as string | null) ?? null,
      note: (t.note as string | null) ?? null,
      details: (t.details as Record<string, unknown> | null) ?? {},
    })),
  }));
}

/** The activity-log rows about the recipient, with the acting person's name. */
async function exportActivity(tx: Queryable, organisationId: string, recipientId: string) {
  const activity = await tx.query(
    `SELECT l.seq, l.at, l.actor_type, l.actor_id, l.action, l.reason,
            CASE WHEN l.actor_type = 'user' THEN u.first_name || ' ' || u.last_name END AS actor_name
       FROM activity_log l
       LEFT JOIN staff_users u ON u.organisation_id = l.organisation_id AND u.id = l.actor_id
      WHERE l.organisation_id = $1 AND ($2::uuid = ANY(l.recipient_ids) OR l.subject_id = $2)
      ORDER BY l.seq`,
    [organisationId, recipientId],
  );
  return activity.rows.map((l) => ({
    seq: Number(l.seq),
    at: (l.at as Date).toISOString(),
    actorType: l.actor_type,
    actorId: l.actor_id,
    actorName: l.actor_name ?? null,
    action: l.action,
    reason: l.reason,
  }));
}

/** Records as CSV, one column per named field. */
export function toCsv(columns: string[], rows: Record<string, unknown>[]): string {
  return csvText(
    columns,
    rows.map((row) => columns.map((c) => row[c])),
  );
}

const README = `Vakt recipient export (format vakt.recipient-export, version 1)

export.json      everything below in one machine-readable document (JSON Schema: recipientExport in the API's OpenAPI document)
recipient.csv    the recipient's profile
devices.csv      alarm devices assigned to them
geofences.csv    zones that raise alarms (shape as GeoJSON-like JSON)
contacts.csv     the call list: who is phoned for them, in order
positions.csv    positions in the requested range (time in UTC, WGS 84)
region-transitions.csv  geofence enters and leaves the tracker reported, in the same range
alarms.csv       alarms raised for them and how they were handled
transitions.csv  each step of each alarm (alarm_id refers to alarms.csv)
activity.csv     who viewed or changed their data, when, and why
`;

/** The export as CSV files in a zip (UTF-8, CRLF, header row). */
export function exportZip(e: RecipientExport): Uint8Array {
  const files: Record<string, Uint8Array> = {
    "README.txt": strToU8(README),
    "export.json": strToU8(JSON.stringify(e, null, 2)),
    "recipient.csv": strToU8(toCsv(Object.keys(e.recipient), [e.recipient])),
    "devices.csv": strToU8(toCsv(["id", "serial", "model", "lastSeenAt", "batteryPercent"], e.devices)),
    "geofences.csv": strToU8(toCsv(["id", "name", "active", "alarmOn", "shape"], e.geofences)),
    "contacts.csv": strToU8(
      toCsv(["position", "name", "relation", "phone", "notes", "availability", "id"], e.contacts),
    ),
    "positions.csv": strToU8(
      toCsv(
        ["time", "deviceId", "lat", "lon", "accuracyM", "speedMps", "source", "batteryPercent"],
        e.positions.items,
      ),
    ),
    "region-transitions.csv": strToU8(
      toCsv(
        [
          "time",
          "deviceId",
          "event",
          "regionDesc",
          "regionId",
          "regionTime",
          "trigger",
          "lat",
          "lon",
          "accuracyM",
        ],
        e.regionTransitions.items,
      ),
    ),
    "alarms.csv": strToU8(
      toCsv(
        [
          "id",
          "type",
          "severity",
          "state",
          "source",
          "raisedAt",
          "receivedAt",
          "lat",
          "lon",
          "acknowledgedAt",
          "closedAt",
          "outcome",
        ],
        e.alarms,
      ),
    ),
    "transitions.csv": strToU8(
      toCsv(
        ["alarmId", "at", "kind", "fromState", "toState", "actorUserId", "actorTokenId", "note", "details"],
        e.alarms.flatMap((a) => a.transitions.map((t) => ({ alarmId: a.id, ...t }))),
      ),
    ),
    "activity.csv": strToU8(
      toCsv(["seq", "at", "actorType", "actorId", "actorName", "action", "reason"], e.activity),
    ),
  };
  return zipSync(files, { level: 6, mtime: new Date(e.generatedAt) });
}
