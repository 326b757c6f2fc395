import type { Geofence } from "@vakt/schemas";
import { withTransaction } from "@vakt/storage";
import { type Caller, logActivity } from "../activity/writer";
import type { ApiDeps } from "../deps";
import { type Actor, allowedDepartments } from "../policy";
import { recipientVisibleSql } from "../privacy/visibility";
import { refuseRealId } from "../recipients/service";
import { found } from "../service-helpers";

type ActorCaller = Caller & { actor: Actor };

interface GeofenceRow {
  id: string;
  recipient_id: string;
  name: string;
  shape: Geofence["shape"];
  active: boolean;
  alarm_on: Geofence["alarmOn"];
  window_start: string | null;
  window_end: string | null;
}
const COLUMNS = `g.id, g.recipient_id, g.name, g.shape, g.active, g.alarm_on,
  to_char(g.window_start, 'HH24:MI') AS window_start, to_char(g.window_end, 'HH24:MI') AS window_end`;
/** Geofences are reached through their recipient's department. */
const SCOPE = `g.organisation_id = $1 AND EXISTS (SELECT 1 FROM recipients r
  WHERE r.organisation_id = g.organisation_id AND r.id = g.recipient_id AND r.department_id = ANY($2::uuid[])
    AND ${recipientVisibleSql("r")})`;

const toGeofence = (r: GeofenceRow): Geofence => ({
  id: r.id,
  recipientId: r.recipient_id,
  name: r.name,
  shape: r.shape,
  active: r.active,
  alarmOn: r.alarm_on,
  window: r.window_start && r.window_end ? { start: r.window_start, end: r.window_end } : null,
});

export async function listGeofences(deps: ApiDeps, caller: ActorCaller, recipientId: string) {
  refuseRealId(caller.actor, "recipient");
  const allowed = [
    ...new Set(
      (
        await Promise.all(
          (["geofence:manage", "position:read"] as const).map((p) =>
            allowedDepartments(deps.pool, caller.actor, p),
          ),
        )
      ).flat(),
    ),
  ];
  const { rows } = await deps.pool.query<GeofenceRow>(
    `SELECT ${COLUMNS} FROM geofences g WHERE ${SCOPE} AND g.recipient_id = $3 ORDER BY g.name`,
    [caller.organisationId, allowed, recipientId],
  );
  return rows.map(toGeofence);
}

type WindowInput = { start: string; end: string } | null | undefined;
export interface GeofenceInput {
  name?: string | undefined;
  shape?: Geofence["shape"] | undefined;
  active?: boolean | undefined;
  alarmOn?: Geofence["alarmOn"] | undefined;
  window?: WindowInput;
}

export async function createGeofence(
  deps: ApiDeps,
  caller: ActorCaller,
  input: GeofenceInput & { recipientId: string; name: string; shape: Geofence["shape"] },
) {
  const allowed = await allowedDepartments(deps.pool, caller.actor, "geofence:manage");
  return withTransaction(deps.pool, async (tx) => {
    found(
      (
        await tx.query(
          `SELECT 1 FROM recipients WHERE organisation_id = $1 AND department_id = ANY($2::uuid[]) AND id = $3
            AND ${recipientVisibleSql("recipients")}`,
          [caller.organisationId, allowed, input.recipientId],
        )
      ).rows[0],
      "recipient",
    );
    const { rows } = await tx.query<{ id: string }>(
      `INSERT INTO geofences (organisation_id, recipient_id, name, shape, active, window_start, window_end, created_at,
                              updated_at, alarm_on)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9) RETURNING id`,
      [
        caller.organisationId,
        input.recipientId,
        input.name,
        JSON.stringify(input.shape),
        input.active ?? true,
        input.window?.start ?? null,
        input.window?.end ?? null,
        caller.now,
        input.alarmOn ?? "exit",
      ],
    );
    const id = found(rows[0], "geofence").id;
    await logActivity(tx, caller, {
      action: "geofence.created",
      subjectType: "geofence",
      subjectId: id,
      recipientIds: [input.recipientId],
    });
    return toGeofence(
      found(
        (await tx.query<GeofenceRow>(`SELECT ${COLUMNS} FROM geofences g WHERE g.id = $1`, [id])).rows[0],
        "geofence",
      ),
    );
  });
}

export async function updateGeofence(deps: ApiDeps, caller: ActorCaller, id: string, input: GeofenceInput) {
  const allowed = await allowedDepartments(deps.pool, caller.actor, "geofence:manage");
  return withTransaction(deps.pool, async (tx) => {
    const before = toGeofence(
      found(
        (
          await tx.query<GeofenceRow>(
            `SELECT ${COLUMNS} FROM geofences g WHERE ${SCOPE} AND g.id = $3 FOR UPDATE`,
            [caller.organisationId, allowed, id],
          )
        ).rows[0],
        "geofence",
      ),
    );
    const window = input.window === undefined ? before.window : input.window;
    await tx.query(
      `UPDATE geofences SET name = $3, shape = $4, active = $5, window_start = $6, window_end = $7, updated_at = $8,
                            alarm_on = $9
        WHERE organisation_id = $1 AND id = $2`,
      [
        caller.organisationId,
        id,
        input.name ?? before.name,
        JSON.stringify(input.shape ?? before.shape),
        input.active ?? before.active,
        window?.start ?? null,
        window?.end ?? null,
        caller.now,
        input.alarmOn ?? before.alarmOn,
      ],
    );
    const after = toGeofence(
      found(
        (await tx.query<GeofenceRow>(`SELECT ${COLUMNS} FROM geofences g WHERE g.id = $1`, [id])).rows[0],
        "geofence",
      ),
    );
    // Shapes locate the person (often their home), so only the fact of a change is logged.
    await logActivity(tx, caller, {
      action: "geofence.updated",
      subjectType: "geofence",
      subjectId: id,
      recipientIds: [after.recipientId],
      details: {
        changed: (["name", "shape", "active", "alarmOn", "window"] as const).filter(
          (k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]),
        ),
      },
    });
    return after;
  });
}

export async function deleteGeofence(deps: ApiDeps, caller: ActorCaller, id: string) {
  const allowed = await allowedDepartments(deps.pool, caller.actor, "geofence:manage");
  await withTransaction(deps.pool, async (tx) => {
    const { rows } = await tx.query<{ recipient_id: string }>(
      `DELETE FROM geofences g WHERE ${SCOPE} AND g.id = $3 RETURNING g.recipient_id`,
      [caller.organisationId, allowed, id],
    );
    const r = found(rows[0], "geofence");
    await logActivity(tx, caller, {
      action: "geofence.deleted",
      subjectType: "geofence",
      subjectId: id,
      recipientIds: [r.recipient_id],
    });
  });
}
