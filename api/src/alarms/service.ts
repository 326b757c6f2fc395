import type {
  AlarmDelivery,
  AlarmDetail,
  AlarmList,
  AlarmListQuery,
  AlarmState,
  AlarmTransition,
} from "@vakt/schemas";
import { type Queryable, withTransaction } from "@vakt/storage";
import { logActivity } from "../activity/writer";
import type { ApiDeps } from "../deps";
import { ApiError } from "../errors";
import { allowedDepartments, contactReadDepartments, type Permission } from "../policy";
import { isPseudonymous, refuseRealId } from "../recipients/service";
import { cancelWindowOf } from "./cancel-window";
import { type ActorCaller, ALARM_SELECT, type AlarmRow, audienceOf, scopedRow, toAlarmSummary } from "./rows";

export {
  ALARM_SELECT,
  type AlarmAudience,
  type AlarmRow,
  audienceOf,
  commandId,
  FULL_AUDIENCE,
  loadAlarmRow,
  loadAlarmRowPrepared,
  toAlarmSummary,
} from "./rows";
export { cancelAlarm, commentAlarm, reopenAlarm, resolveAlarm, takeAlarm } from "./transitions";

/** An e-mail address or phone number a delivery went to, for a caller who may not read staff contacts. */
export const HIDDEN_TARGET = "(hidden: needs user:read)";

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

export async function getAlarm(deps: ApiDeps, caller: ActorCaller, id: string): Promise<AlarmDetail> {
  const allowed = await allowedDepartments(deps.pool, caller.actor, "alarm:read");
  return withTransaction(deps.pool, async (tx) => {
    const row = await scopedRow(tx, caller, id, allowed);
    const transitions = await transitionsOf(tx, caller.organisationId, id);
    const deliveries = await deliveriesOf(tx, caller.organisationId, id);
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
    const contactNames = await calledContactNames(tx, caller, row, transitions.rows);
    const detailsOf = (t: { kind: string; details: Record<string, unknown> }) => {
      const name = t.kind === "called" ? contactNames.get(String(t.details.contactId)) : undefined;
      return name ? { ...t.details, ...name } : t.details;
    };
    const shown = transitions.rows.map((t) => ({
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
      details: detailsOf(t),
    }));
    return {
      ...toAlarmSummary(deps, await audienceOf(tx, caller.actor), row),
      responderNotes: notes ? row.responder_notes : null,
      transitions: shown,
      cancelWindow: cancelWindowOf(row, shown, deps.clock.now()),
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
            reason: d.reason,
          })),
    };
  });
}

/** An alarm's transitions in order, each with its actor's name (a person or an API token). */
function transitionsOf(tx: Queryable, organisationId: string, id: string) {
  return tx.query<{
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
    [organisationId, id],
  );
}

/** An alarm's deliveries in order; a console delivery names the staff user asked. */
function deliveriesOf(tx: Queryable, organisationId: string, id: string) {
  return tx.query<{
    id: string;
    at: Date;
    step: number | null;
    channel: AlarmDelivery["channel"];
    target: string;
    result: AlarmDelivery["result"];
    attempt: number;
    detail: string | null;
    target_name: string | null;
    reason: AlarmDelivery["reason"];
  }>(
    // Console deliveries (and skipped ones) name a staff user by id: the console shows who was asked.
    `SELECT d.id, d.at, d.step, d.channel, d.target, d.result, d.attempt, d.detail, d.reason,
            u.first_name || ' ' || u.last_name AS target_name
       FROM alarm_deliveries d
       LEFT JOIN staff_users u ON u.organisation_id = d.organisation_id AND u.id::text = d.target
      WHERE d.organisation_id = $1 AND d.alarm_id = $2 ORDER BY d.at, d.id`,
    [organisationId, id],
  );
}

/** Calls name their contact from the call list, for those who may read it in the alarm's department. */
async function calledContactNames(
  tx: Queryable,
  caller: ActorCaller,
  row: AlarmRow,
  transitions: { kind: string; details: Record<string, unknown> }[],
) {
  const calledIds = transitions.flatMap((t) =>
    t.kind === "called" && typeof t.details.contactId === "string" ? [t.details.contactId] : [],
  );
  const contactNames = new Map<string, { contactName: string; contactPhone: string }>();
  if (calledIds.length > 0 && (await contactReadDepartments(tx, caller.actor)).includes(row.department_id)) {
    const named = await tx.query<{ id: string; name: string; phone: string }>(
      "SELECT id, name, phone FROM recipient_contacts WHERE organisation_id = $1 AND id = ANY($2::uuid[])",
      [caller.organisationId, calledIds],
    );
    for (const k of named.rows) contactNames.set(k.id, { contactName: k.name, contactPhone: k.phone });
  }
  return contactNames;
}
