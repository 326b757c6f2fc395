/**
 * Alarm transitions: take (acknowledge and assign), comment, resolve, cancel as a false alarm,
 * reopen. Each is one conditional UPDATE (so of two operators taking the same alarm exactly one
 * wins), an alarm_transitions row and an activity-log row, in one transaction; after the commit the
 * device hears about it (ack downlink, tracking stopped on close) and live sockets get `alarm:changed`.
 */
import type { ActivityAction, AlarmConflict, AlarmOutcome, AlarmState, AlarmSummary } from "@vakt/schemas";
import { type Queryable, withTransaction } from "@vakt/storage";
import { logActivity } from "../activity/writer";
import type { ApiDeps } from "../deps";
import { ApiError } from "../errors";
import { allowedDepartments } from "../policy";
import {
  type ActorCaller,
  type AlarmRow,
  audienceOf,
  commandId,
  iso,
  loadAlarmRow,
  scopedRow,
  toAlarmSummary,
} from "./rows";

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
  action: ActivityAction;
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
/** The one conditional UPDATE: of two callers changing the same alarm, exactly one wins. */
async function changeState(
  tx: Queryable,
  caller: ActorCaller,
  id: string,
  spec: TransitionSpec,
  allowed: string[],
  userId: string | null,
): Promise<{ id: string; from_state: AlarmState }> {
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
  if (changed) return changed;
  // Either not there (for this caller) or in the wrong state: say which, and who holds it.
  throw conflict(await scopedRow(tx, caller, id, allowed), spec.kind);
}

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
    const changed = await changeState(tx, caller, id, spec, allowed, userId);
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
