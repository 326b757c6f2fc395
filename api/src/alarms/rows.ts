/**
 * How an alarm is read: the row (ALARM_SELECT), the summary each audience may see of it, and the
 * scoped, optionally locked, read a change starts from.
 */
import { randomBytes } from "node:crypto";
import type { AlarmOutcome, AlarmState, AlarmSummary } from "@vakt/schemas";
import type { Queryable } from "@vakt/storage";
import type pg from "pg";
import type { Caller } from "../activity/writer";
import { pseudonym } from "../auth/secrets";
import type { ApiDeps } from "../deps";
import { ApiError } from "../errors";
import { type Actor, allowedDepartments } from "../policy";
import { isPseudonymous } from "../recipients/service";

export type ActorCaller = Caller & { actor: Actor };

export interface AlarmRow {
  id: string;
  organisation_id: string;
  department_id: string;
  department_name: string;
  device_id: string;
  recipient_id: string | null;
  type: AlarmSummary["type"];
  severity: AlarmSummary["severity"];
  state: AlarmState;
  source: AlarmSummary["source"];
  device_message_id: string | null;
  raised_at: Date;
  received_at: Date;
  lat: number | null;
  lon: number | null;
  accuracy_m: number | null;
  details: Record<string, unknown>;
  assigned_to: string | null;
  assignee_name: string | null;
  acknowledged_at: Date | null;
  closed_at: Date | null;
  outcome: AlarmOutcome | null;
  first_name: string | null;
  last_name: string | null;
  responder_notes: string | null;
  serial: string;
  model: string;
  battery_percent: number | null;
  online: boolean;
  tracking_until: Date | null;
  cancel_until: Date | null;
  routing_claimed_at: Date | null;
}

export const ALARM_SELECT = `
  SELECT a.id, a.organisation_id, a.department_id, d.name AS department_name, a.device_id, a.recipient_id,
         a.type, a.severity, a.state, a.source, a.device_message_id, a.raised_at, a.received_at,
         a.lat, a.lon, a.accuracy_m, a.details, a.assigned_to,
         CASE WHEN u.id IS NULL THEN NULL ELSE u.first_name || ' ' || u.last_name END AS assignee_name,
         a.acknowledged_at, a.closed_at, a.outcome,
         r.first_name, r.last_name, r.responder_notes,
         dv.serial, dv.model, dv.battery_percent, dv.online, dv.tracking_until, ar.cancel_until,
         ar.claimed_at AS routing_claimed_at
    FROM alarms a
    JOIN departments d ON d.organisation_id = a.organisation_id AND d.id = a.department_id
    JOIN devices dv ON dv.organisation_id = a.organisation_id AND dv.id = a.device_id
    LEFT JOIN recipients r ON r.organisation_id = a.organisation_id AND r.id = a.recipient_id
    LEFT JOIN staff_users u ON u.organisation_id = a.organisation_id AND u.id = a.assigned_to
    LEFT JOIN alarm_routing ar ON ar.alarm_id = a.id`;

export const iso = (d: Date | null) => (d ? d.toISOString() : null);

/**
 * Who an alarm is shown to: pseudonymous (HMAC ids for recipient and device,
 * no names or serial) or not, and where its position may be shown (the
 * departments where they hold position:read, or everywhere).
 */
export interface AlarmAudience {
  pseudonymous: boolean;
  positions: true | ReadonlySet<string>;
}
/** A trusted system reader (webhooks configured by administrators). */
export const FULL_AUDIENCE: AlarmAudience = { pseudonymous: false, positions: true };

/** The audience a caller is: a token with alarm:read but no position:read sees alarms without positions. */
export async function audienceOf(db: Queryable, actor: Actor): Promise<AlarmAudience> {
  return {
    pseudonymous: isPseudonymous(actor),
    positions: new Set(await allowedDepartments(db, actor, "position:read")),
  };
}

/** The DTO as the audience may see it; null means a trusted system reader (webhooks). */
export function toAlarmSummary(deps: ApiDeps, audience: AlarmAudience | null, r: AlarmRow): AlarmSummary {
  const pseudo = audience?.pseudonymous ?? false;
  const positions = audience?.positions ?? true;
  const showPosition = positions === true || positions.has(r.department_id);
  return {
    id: r.id,
    type: r.type,
    severity: r.severity,
    state: r.state,
    source: r.source,
    raisedAt: r.raised_at.toISOString(),
    receivedAt: r.received_at.toISOString(),
    recipient: r.recipient_id
      ? pseudo
        ? {
            id: pseudonym(deps.config.PSEUDONYM_KEY, r.organisation_id, r.recipient_id),
            firstName: null,
            lastName: null,
          }
        : { id: r.recipient_id, firstName: r.first_name, lastName: r.last_name }
      : null,
    department: { id: r.department_id, name: r.department_name },
    device: {
      id: pseudo
        ? pseudonym(deps.config.PSEUDONYM_KEY, r.organisation_id, `device:${r.device_id}`)
        : r.device_id,
      serial: pseudo ? null : r.serial,
      model: r.model,
      batteryPercent: r.battery_percent,
      online: r.online,
      trackingUntil: iso(r.tracking_until),
    },
    position:
      showPosition && r.lat !== null && r.lon !== null
        ? { lat: r.lat, lon: r.lon, accuracyM: r.accuracy_m }
        : null,
    assignee: r.assigned_to ? { id: r.assigned_to, name: r.assignee_name ?? "" } : null,
    acknowledgedAt: iso(r.acknowledged_at),
    closedAt: iso(r.closed_at),
    outcome: r.outcome,
    // Only an open alarm is in its window: one taken or closed in it is past it.
    cancelWindowUntil:
      r.state === "open" && r.cancel_until && r.cancel_until > deps.clock.now() ? iso(r.cancel_until) : null,
    // Device- and platform-made details (geofence, fix quality) may hold coordinates: with the position only.
    details: showPosition ? r.details : {},
  };
}

/** One alarm by id, unscoped: for the live fan-out and routing, which scope by room or rule. */
export async function loadAlarmRow(db: Queryable, alarmId: string): Promise<AlarmRow | undefined> {
  const { rows } = await db.query<AlarmRow>(`${ALARM_SELECT} WHERE a.id = $1`, [alarmId]);
  return rows[0];
}

/**
 * The same read as a named statement, planned once per connection rather than on every call
 * (planning costs more than running it): for the alarm path's pool, where every push waits on it.
 */
export async function loadAlarmRowPrepared(db: pg.Pool, alarmId: string): Promise<AlarmRow | undefined> {
  const { rows } = await db.query<AlarmRow>({
    name: "vakt-alarm-row",
    text: `${ALARM_SELECT} WHERE a.id = $1`,
    values: [alarmId],
  });
  return rows[0];
}

export async function scopedRow(
  db: Queryable,
  caller: ActorCaller,
  id: string,
  allowed: string[],
  lock = false,
) {
  const { rows } = await db.query<AlarmRow>(
    `${ALARM_SELECT} WHERE a.organisation_id = $1 AND a.id = $2 AND a.department_id = ANY($3::uuid[])
     ${lock ? "FOR UPDATE OF a" : ""}`,
    [caller.organisationId, id, allowed],
  );
  const row = rows[0];
  if (!row) throw new ApiError("not_found", "No such alarm.");
  return row;
}

/** An id for a downlink command (locate, track, stop): unique enough to match its answer. */
export const commandId = (prefix: string) => `${prefix}-${randomBytes(6).toString("hex")}`;
