/**
 * Retention settings, retention runs, restriction and erasure on request: the
 * administrator's side of privacy. Every change is logged in the same transaction.
 */
import type { RetentionSettings } from "@vakt/schemas";
import { withTransaction } from "@vakt/storage";
import { type Caller, logActivity } from "../activity/writer";
import type { ApiDeps } from "../deps";
import { ApiError } from "../errors";
import { type Actor, allowedDepartments } from "../policy";
import { RECIPIENT_COLUMNS, type RecipientRow, recipientFields } from "../recipients/service";
import { GRACE_MONTHS, timeseriesCeilingsDays } from "../retention/job";
import { found } from "../service-helpers";
import { eraseRecipient } from "./erasure";

type ActorCaller = Caller & { actor: Actor };

interface SettingsRow {
  positions_days: number;
  device_status_days: number;
  device_messages_days: number;
  dead_letters_days: number;
  alarms_days: number;
  activity_log_days: number;
  updated_at: Date | null;
}
const COLUMNS: Record<keyof RetentionSettings, keyof SettingsRow> = {
  positionsDays: "positions_days",
  deviceStatusDays: "device_status_days",
  deviceMessagesDays: "device_messages_days",
  deadLettersDays: "dead_letters_days",
  alarmsDays: "alarms_days",
  activityLogDays: "activity_log_days",
};
/** Which time-series table bounds which setting from above. */
const CEILING_OF: Partial<Record<keyof RetentionSettings, string>> = {
  positionsDays: "positions",
  deviceStatusDays: "device_status",
  deviceMessagesDays: "device_messages",
};

function toView(r: SettingsRow, ceilings: Record<string, number>) {
  return {
    positionsDays: r.positions_days,
    deviceStatusDays: r.device_status_days,
    deviceMessagesDays: r.device_messages_days,
    deadLettersDays: r.dead_letters_days,
    alarmsDays: r.alarms_days,
    activityLogDays: r.activity_log_days,
    recipientGraceMonths: GRACE_MONTHS as 6,
    staffGraceMonths: GRACE_MONTHS as 6,
    ceilings,
    updatedAt: r.updated_at ? r.updated_at.toISOString() : null,
  };
}

export async function getRetentionSettings(deps: ApiDeps, caller: ActorCaller) {
  await deps.pool.query(
    "INSERT INTO retention_settings (organisation_id, updated_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    [caller.organisationId, caller.now],
  );
  const { rows } = await deps.pool.query<SettingsRow>(
    `SELECT positions_days, device_status_days, device_messages_days, dead_letters_days, alarms_days,
            activity_log_days, updated_at FROM retention_settings WHERE organisation_id = $1`,
    [caller.organisationId],
  );
  return toView(found(rows[0], "retention settings"), await timeseriesCeilingsDays(deps.pool));
}

export async function updateRetentionSettings(
  deps: ApiDeps,
  caller: ActorCaller,
  input: Partial<RetentionSettings>,
) {
  const ceilings = await timeseriesCeilingsDays(deps.pool);
  const errors: { path: string; message: string }[] = [];
  for (const [key, table] of Object.entries(CEILING_OF) as [keyof RetentionSettings, string][]) {
    const v = input[key];
    const max = ceilings[table];
    if (v !== undefined && max !== undefined && v > max)
      errors.push({ path: key, message: `at most ${max} days (the ${table} table's ceiling)` });
  }
  if (errors.length > 0)
    throw new ApiError("validation_failed", "Above what the database keeps.", { errors });
  const before = await getRetentionSettings(deps, caller);
  return withTransaction(deps.pool, async (tx) => {
    const sets: string[] = [];
    const params: unknown[] = [
      caller.organisationId,
      caller.now,
      caller.actor.kind === "user" ? caller.actor.userId : null,
    ];
    for (const [key, column] of Object.entries(COLUMNS) as [keyof RetentionSettings, string][]) {
      if (input[key] === undefined) continue;
      params.push(input[key]);
      sets.push(`${column} = $${params.length}`);
    }
    const { rows } = await tx.query<SettingsRow>(
      `UPDATE retention_settings SET ${[...sets, "updated_at = $2", "updated_by = $3"].join(", ")}
        WHERE organisation_id = $1
        RETURNING positions_days, device_status_days, device_messages_days, dead_letters_days, alarms_days,
                  activity_log_days, updated_at`,
      params,
    );
    const after = toView(found(rows[0], "retention settings"), ceilings);
    const changes: Record<string, { before: number; after: number }> = {};
    for (const key of Object.keys(COLUMNS) as (keyof RetentionSettings)[]) {
      if (before[key] !== after[key]) changes[key] = { before: before[key], after: after[key] };
    }
    await logActivity(tx, caller, { action: "retention.updated", details: { changes } });
    return after;
  });
}

export async function listRetentionRuns(deps: ApiDeps, caller: ActorCaller) {
  const { rows } = await deps.pool.query<{
    id: string;
    as_of: Date;
    started_at: Date;
    finished_at: Date | null;
    status: "running" | "succeeded" | "failed";
    trigger: "schedule" | "manual";
    counts: Record<string, string> | null;
  }>(
    `SELECT r.id, r.as_of, r.started_at, r.finished_at, r.status, r.trigger,
            (SELECT jsonb_object_agg(c.category, c.rows) FROM retention_run_counts c
              WHERE c.run_id = r.id AND c.organisation_id = $1) AS counts
       FROM retention_runs r ORDER BY r.id DESC LIMIT 100`,
    [caller.organisationId],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    asOf: r.as_of.toISOString(),
    startedAt: r.started_at.toISOString(),
    finishedAt: r.finished_at ? r.finished_at.toISOString() : null,
    status: r.status,
    trigger: r.trigger,
    counts: Object.fromEntries(Object.entries(r.counts ?? {}).map(([k, v]) => [k, Number(v)])),
  }));
}

/** Restriction is set and lifted by those who manage the recipient; the reason is logged. */
export async function setRestriction(
  deps: ApiDeps,
  caller: ActorCaller,
  recipientId: string,
  restricted: boolean,
  reason: string,
) {
  const allowed = await allowedDepartments(deps.pool, caller.actor, "recipient:manage");
  return withTransaction(deps.pool, async (tx) => {
    const { rows } = await tx.query<{ id: string; department_id: string; restricted_at: Date | null }>(
      `UPDATE recipients SET restricted_at = CASE WHEN $4 THEN coalesce(restricted_at, $5) ELSE NULL END,
              updated_at = $5
        WHERE organisation_id = $1 AND department_id = ANY($2::uuid[]) AND id = $3
        RETURNING id, department_id, restricted_at`,
      [caller.organisationId, allowed, recipientId, restricted, caller.now],
    );
    const r = found(rows[0], "recipient");
    await logActivity(tx, caller, {
      action: restricted ? "recipient.restricted" : "recipient.restriction_lifted",
      subjectType: "recipient",
      subjectId: r.id,
      recipientIds: [r.id],
      reason,
    });
    return { id: r.id, departmentId: r.department_id, restrictedAt: r.restricted_at?.toISOString() ?? null };
  });
}

export async function listRestricted(deps: ApiDeps, caller: ActorCaller) {
  const { rows } = await deps.pool.query<{ id: string; department_id: string; restricted_at: Date }>(
    `SELECT id, department_id, restricted_at FROM recipients
      WHERE organisation_id = $1 AND restricted_at IS NOT NULL ORDER BY restricted_at, id`,
    [caller.organisationId],
  );
  return rows.map((r) => ({
    id: r.id,
    departmentId: r.department_id,
    restrictedAt: r.restricted_at.toISOString(),
  }));
}

/** An organisation administrator reads any recipient, restricted or not, giving a reason (logged). */
export async function viewRecipientWithReason(
  deps: ApiDeps,
  caller: ActorCaller,
  recipientId: string,
  reason: string,
) {
  return withTransaction(deps.pool, async (tx) => {
    const { rows } = await tx.query<RecipientRow & { restricted_at: Date | null }>(
      `SELECT ${RECIPIENT_COLUMNS}, restricted_at FROM recipients WHERE organisation_id = $1 AND id = $2`,
      [caller.organisationId, recipientId],
    );
    const r = found(rows[0], "recipient");
    await logActivity(tx, caller, {
      action: "recipient.viewed_with_reason",
      subjectType: "recipient",
      subjectId: r.id,
      recipientIds: [r.id],
      reason,
      details: { restricted: r.restricted_at !== null },
    });
    return {
      ...recipientFields(r),
      restrictedAt: r.restricted_at?.toISOString() ?? null,
    };
  });
}

/** Erasure on request (organisation administrators). */
export async function eraseRecipientOnRequest(
  deps: ApiDeps,
  caller: ActorCaller,
  recipientId: string,
  reason: string,
) {
  return withTransaction(deps.pool, (tx) =>
    eraseRecipient(tx, caller.organisationId, recipientId, {
      actor: caller.actor,
      ip: caller.ip,
      now: caller.now,
      trigger: "request",
      reason,
    }),
  );
}

export async function listErasures(deps: ApiDeps, caller: ActorCaller) {
  const { rows } = await deps.pool.query<{
    id: string;
    subject_type: "recipient" | "staff_user";
    subject_ref: string;
    erased_at: Date;
    trigger: "request" | "retention";
    reason: string;
    kept_legal_basis: string;
    counts: Record<string, number>;
  }>(
    `SELECT id, subject_type, subject_ref, erased_at, trigger, reason, kept_legal_basis, counts
       FROM erasure_records WHERE organisation_id = $1 ORDER BY erased_at DESC, id LIMIT 1000`,
    [caller.organisationId],
  );
  return rows.map((r) => ({
    id: r.id,
    subjectType: r.subject_type,
    subjectRef: r.subject_ref,
    erasedAt: r.erased_at.toISOString(),
    trigger: r.trigger,
    reason: r.reason,
    keptLegalBasis: r.kept_legal_basis,
    counts: r.counts,
  }));
}
