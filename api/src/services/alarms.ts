/**
 * The alarm lifecycle: list, open, take (acknowledge and assign), comment,
 * resolve, cancel as a false alarm, reopen. Every transition is one conditional
 * UPDATE (so of two operators taking the same alarm exactly one wins), an
 * alarm_transitions row and an activity-log row, in one transaction. After the
 * commit the device hears about it (ack downlink, tracking stopped on close) and
 * live sockets get `alarm:changed`.
 */
import { randomBytes } from "node:crypto";
import type {
  AlarmConflict,
  AlarmDelivery,
  AlarmDetail,
  AlarmList,
  AlarmListQuery,
  AlarmOutcome,
  AlarmState,
  AlarmSummary,
  AlarmTransition,
} from "@vakt/schemas";
import { owntracksReportLocation, parseOwntracksTopic } from "@vakt/schemas";
import { type Queryable, withTransaction } from "@vakt/storage";
import { type Caller, logActivity } from "../activity";
import { pseudonym } from "../auth/secrets";
import type { ApiDeps } from "../deps";
import { ApiError } from "../errors";
import { type Actor, allowedDepartments, mayLocate, type Permission } from "../policy";
import { LOCATOR_REASON_MIN_LENGTH } from "./positions";
import { isPseudonymous, refuseRealId } from "./recipients";

type ActorCaller = Caller & { actor: Actor };

/** An e-mail address or phone number a delivery went to, for a caller who may not read staff contacts. */
export const HIDDEN_TARGET = "(hidden: needs user:read)";

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
}

export const ALARM_SELECT = `
  SELECT a.id, a.organisation_id, a.department_id, d.name AS department_name, a.device_id, a.recipient_id,
         a.type, a.severity, a.state, a.source, a.device_message_id, a.raised_at, a.received_at,
         a.lat, a.lon, a.accuracy_m, a.details, a.assigned_to,
         CASE WHEN u.id IS NULL THEN NULL ELSE u.first_name || ' ' || u.last_name END AS assignee_name,
         a.acknowledged_at, a.closed_at, a.outcome,
         r.first_name, r.last_name, r.responder_notes,
         dv.serial, dv.model, dv.battery_percent, dv.online, dv.tracking_until
    FROM alarms a
    JOIN departments d ON d.organisation_id = a.organisation_id AND d.id = a.department_id
    JOIN devices dv ON dv.organisation_id = a.organisation_id AND dv.id = a.device_id
    LEFT JOIN recipients r ON r.organisation_id = a.organisation_id AND r.id = a.recipient_id
    LEFT JOIN staff_users u ON u.organisation_id = a.organisation_id AND u.id = a.assigned_to`;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

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
    // Device- and platform-made details (geofence, fix quality) may hold coordinates: with the position only.
    details: showPosition ? r.details : {},
  };
}

/** One alarm by id, unscoped: for the live fan-out and routing, which scope by room or rule. */
export async function loadAlarmRow(db: Queryable, alarmId: string): Promise<AlarmRow | undefined> {
  const { rows } = await db.query<AlarmRow>(`${ALARM_SELECT} WHERE a.id = $1`, [alarmId]);
  return rows[0];
}

function encodeCursor(r: AlarmRow): string {
  return Buffer.from(`${r.raised_at.toISOString()}|${r.id}`).toString("base64url");
}
function decodeCursor(cursor: string): { at: string; id: string } {
  const [at, id] = Buffer.from(cursor, "base64url").toString().split("|");
  if (!at || !id || Number.isNaN(Date.parse(at)) || !/^[0-9a-f-]{36}$/.test(id))
    throw new ApiError("validation_failed", "Unknown cursor.");
  return { at, id };
}

export async function listAlarms(deps: ApiDeps, caller: ActorCaller, q: AlarmListQuery): Promise<AlarmList> {
  const allowed = await allowedDepartments(deps.pool, caller.actor, "alarm:read");
  const params: unknown[] = [caller.organisationId, allowed];
  const where = ["a.organisation_id = $1", "a.department_id = ANY($2::uuid[])"];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    where.push(sql.replaceAll("$?", `$${params.length}`));
  };
  if (q.state) add("a.state = ANY($?::text[])", q.state);
  if (q.type) add("a.type = ANY($?::text[])", q.type);
  if (q.severity) add("a.severity = ANY($?::text[])", q.severity);
  if (q.outcome) add("a.outcome = ANY($?::text[])", q.outcome);
  if (q.departmentId) add("$?::uuid = ANY(d.ancestry)", q.departmentId);
  if (q.recipientId) {
    refuseRealId(caller.actor, "recipient");
    add("a.recipient_id = $?", q.recipientId);
  }
  if (q.from) add("a.raised_at >= $?", q.from);
  if (q.to) add("a.raised_at < $?", q.to);
  if (q.cursor) {
    const c = decodeCursor(q.cursor);
    params.push(c.at, c.id);
    where.push(`(a.raised_at, a.id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
  }
  params.push(q.limit + 1);
  return withTransaction(deps.pool, async (tx) => {
    const { rows } = await tx.query<AlarmRow>(
      `${ALARM_SELECT} WHERE ${where.join(" AND ")} ORDER BY a.raised_at DESC, a.id DESC LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, q.limit);
    if (caller.actor.kind === "api_token" && page.length > 0) {
      await logActivity(tx, caller, {
        action: "alarm.listed",
        recipientIds: [...new Set(page.flatMap((r) => (r.recipient_id ? [r.recipient_id] : [])))],
      });
    }
    const last = page.at(-1);
    const audience = await audienceOf(tx, caller.actor);
    return {
      items: page.map((r) => toAlarmSummary(deps, audience, r)),
      nextCursor: rows.length > q.limit && last ? encodeCursor(last) : null,
    };
  });
}

async function scopedRow(db: Queryable, caller: ActorCaller, id: string, allowed: string[], lock = false) {
  const { rows } = await db.query<AlarmRow>(
    `${ALARM_SELECT} WHERE a.organisation_id = $1 AND a.id = $2 AND a.department_id = ANY($3::uuid[])
     ${lock ? "FOR UPDATE OF a" : ""}`,
    [caller.organisationId, id, allowed],
  );
  const row = rows[0];
  if (!row) throw new ApiError("not_found", "No such alarm.");
  return row;
}

export async function getAlarm(deps: ApiDeps, caller: ActorCaller, id: string): Promise<AlarmDetail> {
  const allowed = await allowedDepartments(deps.pool, caller.actor, "alarm:read");
  return withTransaction(deps.pool, async (tx) => {
    const row = await scopedRow(tx, caller, id, allowed);
    const transitions = await tx.query<{
      id: string;
      at: Date;
      kind: AlarmTransition["kind"];
      from_state: AlarmState | null;
      to_state: AlarmState | null;
      actor_user_id: string | null;
      actor_token_id: string | null;
      actor_name: string | null;
      note: string | null;
      details: Record<string, unknown>;
    }>(
      `SELECT t.id, t.at, t.kind, t.from_state, t.to_state, t.actor_user_id, t.actor_token_id, t.note, t.details,
              coalesce(u.first_name || ' ' || u.last_name, tok.name) AS actor_name
         FROM alarm_transitions t
         LEFT JOIN staff_users u ON u.organisation_id = t.organisation_id AND u.id = t.actor_user_id
         LEFT JOIN api_tokens tok ON tok.organisation_id = t.organisation_id AND tok.id = t.actor_token_id
        WHERE t.organisation_id = $1 AND t.alarm_id = $2 ORDER BY t.at, t.id`,
      [caller.organisationId, id],
    );
    const deliveries = await tx.query<{
      id: string;
      at: Date;
      step: number | null;
      channel: AlarmDelivery["channel"];
      target: string;
      result: AlarmDelivery["result"];
      attempt: number;
      detail: string | null;
      target_name: string | null;
    }>(
      // Console deliveries (and skipped ones) name a staff user by id: the console shows who was asked.
      `SELECT d.id, d.at, d.step, d.channel, d.target, d.result, d.attempt, d.detail,
              u.first_name || ' ' || u.last_name AS target_name
         FROM alarm_deliveries d
         LEFT JOIN staff_users u ON u.organisation_id = d.organisation_id AND u.id::text = d.target
        WHERE d.organisation_id = $1 AND d.alarm_id = $2 ORDER BY d.at, d.id`,
      [caller.organisationId, id],
    );
    // Opening an alarm shows personal data: logged like any other look.
    await logActivity(tx, caller, {
      action: "alarm.opened",
      subjectType: "alarm",
      subjectId: id,
      recipientIds: row.recipient_id ? [row.recipient_id] : [],
    });
    const pseudo = isPseudonymous(caller.actor);
    // Notes need recipient:details, staff addresses user:read, in the alarm's department (tokens hold neither).
    const holdsHere = async (p: Permission) =>
      (await allowedDepartments(tx, caller.actor, p)).includes(row.department_id);
    const notes = !pseudo && (await holdsHere("recipient:details"));
    const contacts = await holdsHere("user:read");
    return {
      ...toAlarmSummary(deps, await audienceOf(tx, caller.actor), row),
      responderNotes: notes ? row.responder_notes : null,
      transitions: transitions.rows.map((t) => ({
        id: Number(t.id),
        at: t.at.toISOString(),
        kind: t.kind,
        fromState: t.from_state,
        toState: t.to_state,
        actor: t.actor_user_id
          ? { type: "user" as const, id: t.actor_user_id, name: t.actor_name }
          : t.actor_token_id
            ? { type: "api_token" as const, id: t.actor_token_id, name: t.actor_name }
            : { type: "system" as const, id: null, name: null },
        note: pseudo ? null : t.note,
        details: t.details,
      })),
      deliveries: pseudo
        ? []
        : deliveries.rows.map((d) => ({
            id: d.id,
            at: d.at.toISOString(),
            step: d.step,
            channel: d.channel,
            target: contacts || d.channel === "console" || d.channel === "webhook" ? d.target : HIDDEN_TARGET,
            result: d.result,
            attempt: d.attempt,
            detail: d.detail,
            targetName: d.target_name,
          })),
    };
  });
}

type Change = "acknowledged" | "commented" | "resolved" | "cancelled" | "reopened";

interface TransitionSpec {
  kind: Change;
  /** States the alarm must be in; undefined: any. */
  from?: AlarmState[];
  to?: AlarmState;
  /** Extra SET clauses; $1 organisation, $2 id, $3 now, $4 user id, $5 outcome. */
  set?: string;
  note?: string | undefined;
  outcome?: AlarmOutcome;
  /** What the device is told after the commit. */
  ack?: "taken" | "resolved" | "cancelled";
  action: string;
}

function conflict(row: AlarmRow, wanted: string): ApiError {
  const holder = row.assigned_to ? { id: row.assigned_to, name: row.assignee_name ?? "" } : null;
  const detail =
    row.state === "acknowledged" && holder
      ? `${holder.name} has already taken this alarm.`
      : `The alarm is ${row.state}; it cannot be ${wanted}.`;
  const members: Pick<AlarmConflict, "alarmId" | "state" | "holder" | "since"> = {
    alarmId: row.id,
    state: row.state,
    holder,
    since: iso(row.state === "acknowledged" ? row.acknowledged_at : row.closed_at),
  };
  return new ApiError("conflict", detail, { members });
}

/** Runs one transition; answers the alarm as it is after it. */
async function transition(
  deps: ApiDeps,
  caller: ActorCaller,
  id: string,
  spec: TransitionSpec,
): Promise<AlarmSummary> {
  const permission = "alarm:acknowledge";
  const allowed = await allowedDepartments(deps.pool, caller.actor, permission);
  const userId = caller.actor.kind === "user" ? caller.actor.userId : null;
  const tokenId = caller.actor.kind === "api_token" ? caller.actor.tokenId : null;
  if (spec.kind === "acknowledged" && !userId)
    throw new ApiError("forbidden", "Only people can take an alarm, not API tokens.");
  const result = await withTransaction(deps.pool, async (tx) => {
    const setClauses = ["state = coalesce($6::text, a.state)", ...(spec.set ? [spec.set] : [])];
    const { rows } = await tx.query<{ id: string; from_state: AlarmState }>(
      `UPDATE alarms a SET ${setClauses.join(", ")}
         FROM (SELECT id, state AS from_state FROM alarms WHERE organisation_id = $1 AND id = $2) old
        WHERE a.organisation_id = $1 AND a.id = $2 AND a.id = old.id AND a.department_id = ANY($7::uuid[])
          AND ($8::text[] IS NULL OR a.state = ANY($8::text[]))
          -- every parameter typed, whichever SET clauses this transition uses
          AND $3::timestamptz IS NOT NULL AND ($4::uuid IS NULL OR true) AND ($5::text IS NULL OR true)
      RETURNING a.id, old.from_state`,
      [
        caller.organisationId,
        id,
        caller.now,
        userId,
        spec.outcome ?? null,
        spec.to ?? null,
        allowed,
        spec.from ?? null,
      ],
    );
    const changed = rows[0];
    if (!changed) {
      // Either not there (for this caller) or in the wrong state: say which, and who holds it.
      const row = await scopedRow(tx, caller, id, allowed);
      throw conflict(row, spec.kind);
    }
    const row = (await loadAlarmRow(tx, id)) as AlarmRow;
    await tx.query(
      `INSERT INTO alarm_transitions (organisation_id, alarm_id, at, kind, from_state, to_state, actor_user_id,
                                      actor_token_id, note, details)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        caller.organisationId,
        id,
        caller.now,
        spec.kind,
        changed.from_state,
        row.state,
        userId,
        tokenId,
        spec.note ?? null,
        JSON.stringify(spec.outcome ? { outcome: spec.outcome } : {}),
      ],
    );
    await logActivity(tx, caller, {
      action: spec.action,
      subjectType: "alarm",
      subjectId: id,
      recipientIds: row.recipient_id ? [row.recipient_id] : [],
      details: {
        from: changed.from_state,
        to: row.state,
        ...(spec.outcome ? { outcome: spec.outcome } : {}),
      },
    });
    if (spec.kind === "reopened") {
      // A reopened alarm is routed again from the first step (claimed anew by an API process).
      await tx.query("DELETE FROM alarm_routing WHERE alarm_id = $1", [id]);
    }
    let stopTracking = false;
    if (row.state === "resolved" || row.state === "cancelled") {
      // Tracking started by alarms ends when the device has no other open alarm.
      const r = await tx.query(
        `UPDATE devices SET tracking_until = NULL
          WHERE organisation_id = $1 AND id = $2 AND tracking_until IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM alarms WHERE device_id = $2 AND id <> $3
                             AND state IN ('open', 'acknowledged'))`,
        [caller.organisationId, row.device_id, id],
      );
      stopTracking = (r.rowCount ?? 0) > 0;
      if (stopTracking) row.tracking_until = null;
    }
    return { row, stopTracking };
  });
  const { row } = result;
  await afterCommit(deps, row, spec, result.stopTracking);
  return toAlarmSummary(deps, await audienceOf(deps.pool, caller.actor), row);
}

async function afterCommit(deps: ApiDeps, row: AlarmRow, spec: TransitionSpec, stopTracking: boolean) {
  const log = deps.logger.child({ alarmId: row.id });
  const at = deps.clock.now().getTime();
  if (spec.ack && row.device_message_id) {
    await deps.deviceCommands
      .publishAck(row.serial, {
        v: 1,
        ackOf: row.device_message_id,
        status: spec.ack,
        alarmId: row.id,
        at,
      })
      .catch((err) => log.warn({ err }, "alarm ack to device failed"));
  }
  if (stopTracking) {
    await deps.deviceCommands
      .publishCommand(row.serial, { v: 1, id: commandId("stop"), command: "stop_tracking" })
      .catch((err) => log.warn({ err }, "stop_tracking to device failed"));
  }
  deps.bus?.emit("alarm", { alarmId: row.id, change: spec.kind });
  if (spec.kind === "reopened") deps.bus?.emit("reopened", { alarmId: row.id });
}

export const commandId = (prefix: string) => `${prefix}-${randomBytes(6).toString("hex")}`;

export const takeAlarm = (deps: ApiDeps, caller: ActorCaller, id: string, note?: string) =>
  transition(deps, caller, id, {
    kind: "acknowledged",
    from: ["open"],
    to: "acknowledged",
    set: "assigned_to = $4, acknowledged_at = $3",
    note,
    ack: "taken",
    action: "alarm.taken",
  });

export const commentAlarm = (deps: ApiDeps, caller: ActorCaller, id: string, note: string) =>
  transition(deps, caller, id, { kind: "commented", note, action: "alarm.commented" });

export const resolveAlarm = (
  deps: ApiDeps,
  caller: ActorCaller,
  id: string,
  body: { outcome: AlarmOutcome; note: string },
) =>
  transition(deps, caller, id, {
    kind: "resolved",
    from: ["open", "acknowledged"],
    to: "resolved",
    set: "closed_at = $3, outcome = $5, assigned_to = coalesce(a.assigned_to, $4), acknowledged_at = coalesce(a.acknowledged_at, $3)",
    note: body.note,
    outcome: body.outcome,
    ack: "resolved",
    action: "alarm.resolved",
  });

export const cancelAlarm = (deps: ApiDeps, caller: ActorCaller, id: string, note?: string) =>
  transition(deps, caller, id, {
    kind: "cancelled",
    from: ["open", "acknowledged"],
    to: "cancelled",
    set: "closed_at = $3, outcome = $5",
    note,
    outcome: "false_alarm",
    ack: "cancelled",
    action: "alarm.cancelled",
  });

export const reopenAlarm = (deps: ApiDeps, caller: ActorCaller, id: string, note: string) =>
  transition(deps, caller, id, {
    kind: "reopened",
    from: ["resolved", "cancelled"],
    to: "open",
    set: "closed_at = NULL, outcome = NULL, assigned_to = NULL, acknowledged_at = NULL",
    note,
    action: "alarm.reopened",
  });

/**
 * Locate by recipient (the console's button for locators, who may not list
 * devices): the recipient's newest active device, then exactly `locateDevice`
 * with its department and reason checks. A recipient outside the caller's
 * departments, or without a device, is 404 either way.
 */
export async function locateRecipient(
  deps: ApiDeps,
  caller: ActorCaller,
  recipientId: string,
  reason: string | undefined,
): Promise<{ deviceId: string; commandId: string; sentAt: string }> {
  // As for a device: a read-only token is refused for the write before anything is looked up.
  if (!mayLocate(caller.actor))
    throw new ApiError("forbidden", "API tokens are read-only unless device:locate is granted.");
  refuseRealId(caller.actor, "recipient");
  const { rows } = await deps.pool.query<{ id: string }>(
    `SELECT id FROM devices WHERE organisation_id = $1 AND recipient_id = $2 AND retired_at IS NULL
      ORDER BY last_seen_at DESC NULLS LAST, id LIMIT 1`,
    [caller.organisationId, recipientId],
  );
  const device = rows[0];
  if (!device) throw new ApiError("not_found", "No such device.");
  return locateDevice(deps, caller, device.id, reason);
}

/** Asks the device for a position now (`locate`); logged with the reason. */
export async function locateDevice(
  deps: ApiDeps,
  caller: ActorCaller,
  deviceId: string,
  reason: string | undefined,
): Promise<{ deviceId: string; commandId: string; sentAt: string }> {
  if (!mayLocate(caller.actor))
    throw new ApiError("forbidden", "API tokens are read-only unless device:locate is granted.");
  refuseRealId(caller.actor, "device");
  const full = await allowedDepartments(deps.pool, caller.actor, "position:read");
  const locate = await allowedDepartments(deps.pool, caller.actor, "position:locate");
  const { rows } = await deps.pool.query<{
    serial: string;
    recipient_id: string | null;
    department_id: string;
    protocol: string;
  }>(
    `SELECT serial, recipient_id, department_id, protocol FROM devices
      WHERE organisation_id = $1 AND id = $2 AND retired_at IS NULL AND department_id = ANY($3::uuid[])`,
    [caller.organisationId, deviceId, [...full, ...locate]],
  );
  const device = rows[0];
  if (!device) throw new ApiError("not_found", "No such device.");
  if (!full.includes(device.department_id) && (reason ?? "").trim().length < LOCATOR_REASON_MIN_LENGTH)
    throw new ApiError(
      "reason_required",
      `Say why you ask for this position, in at least ${LOCATOR_REASON_MIN_LENGTH} characters.`,
    );
  // OsmAnd (Traccar Client) only sends over HTTP: nothing can reach it, so saying "sent" would mislead.
  if (device.protocol === "osmand")
    throw new ApiError(
      "conflict",
      "An OsmAnd device cannot be asked for a position; it reports at its own interval.",
    );
  // An OwnTracks app listens on its own topic + /cmd; the user segment is the one it last published under.
  const owntracksTopic =
    device.protocol === "owntracks" ? await owntracksTopicOf(deps, caller, deviceId) : null;
  if (device.protocol === "owntracks" && owntracksTopic === null)
    throw new ApiError(
      "conflict",
      "The OwnTracks app has not reported yet, so where it listens is not known.",
    );
  const id = commandId("loc");
  await withTransaction(deps.pool, (tx) =>
    logActivity(tx, caller, {
      action: "device.locate_requested",
      subjectType: "device",
      subjectId: deviceId,
      recipientIds: device.recipient_id ? [device.recipient_id] : [],
      reason: reason ?? null,
      details: { commandId: id },
    }),
  );
  if (owntracksTopic !== null) {
    await deps.deviceCommands.publishOwntracksCommand(`${owntracksTopic}/cmd`, owntracksReportLocation);
  } else {
    await deps.deviceCommands.publishCommand(device.serial, { v: 1, id, command: "locate" });
  }
  return { deviceId, commandId: id, sentAt: caller.now.toISOString() };
}

/** `owntracks/<user>/<serial>`: the base topic the device's newest OwnTracks message came on. */
async function owntracksTopicOf(
  deps: ApiDeps,
  caller: ActorCaller,
  deviceId: string,
): Promise<string | null> {
  const { rows } = await deps.pool.query<{ topic: string }>(
    `SELECT topic FROM device_messages
      WHERE organisation_id = $1 AND device_id = $2 AND direction = 'uplink' AND topic LIKE 'owntracks/%'
      ORDER BY time DESC LIMIT 1`,
    [caller.organisationId, deviceId],
  );
  const topic = rows[0]?.topic;
  const parsed = topic === undefined ? undefined : parseOwntracksTopic(topic);
  return parsed ? `owntracks/${parsed.user}/${parsed.device}` : null;
}
