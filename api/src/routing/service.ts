/** Alert rules (with their escalation steps) and endpoints, scoped to the caller's departments. */
import { randomBytes } from "node:crypto";
import type { AlertEndpoint, AlertRule } from "@vakt/schemas";
import {
  alertEndpointCreate,
  type alertEndpointUpdate,
  type alertRuleCreate,
  type alertRuleUpdate,
} from "@vakt/schemas";
import { withTransaction } from "@vakt/storage";
import type { z } from "zod";
import { type Caller, logActivity } from "../activity/writer";
import { pingEndpoint } from "../alerting";
import type { ApiDeps } from "../deps";
import { ApiError } from "../errors";
import { assertOutboundUrl } from "../outbound";
import { type Actor, allowedDepartments } from "../policy";
import { alertTargetsIn, refuseTargetsWhoCannotAct } from "./targets";

type ActorCaller = Caller & { actor: Actor };
const PERMISSION = "routing:manage";

interface RuleRow {
  id: string;
  department_id: string;
  name: string;
  alarm_types: AlertRule["alarmTypes"];
  severities: AlertRule["severities"];
  schedule: AlertRule["schedule"];
  steps: AlertRule["steps"];
  reminder_interval_s: number | null;
  max_reminders: number;
  cancel_window_s: number | null;
  enabled: boolean;
}
const toRule = (r: RuleRow): AlertRule => ({
  id: r.id,
  departmentId: r.department_id,
  name: r.name,
  alarmTypes: r.alarm_types,
  severities: r.severities,
  schedule: r.schedule,
  steps: r.steps,
  reminderIntervalS: r.reminder_interval_s,
  maxReminders: r.max_reminders,
  cancelWindowS: r.cancel_window_s,
  enabled: r.enabled,
});

async function allowed(deps: ApiDeps, caller: ActorCaller, departmentId?: string) {
  const ids = await allowedDepartments(deps.pool, caller.actor, PERMISSION);
  if (departmentId !== undefined && !ids.includes(departmentId))
    throw new ApiError("not_found", "No such department.");
  return ids;
}

export async function listRules(deps: ApiDeps, caller: ActorCaller) {
  const ids = await allowed(deps, caller);
  const { rows } = await deps.pool.query<RuleRow>(
    "SELECT * FROM alert_rules WHERE organisation_id = $1 AND department_id = ANY($2::uuid[]) ORDER BY name, id",
    [caller.organisationId, ids],
  );
  return rows.map(toRule);
}

async function ruleRow(deps: ApiDeps, caller: ActorCaller, id: string, ids: string[]) {
  const { rows } = await deps.pool.query<RuleRow>(
    "SELECT * FROM alert_rules WHERE organisation_id = $1 AND id = $2 AND department_id = ANY($3::uuid[])",
    [caller.organisationId, id, ids],
  );
  if (!rows[0]) throw new ApiError("not_found", "No such rule.");
  return rows[0];
}

export async function getRule(deps: ApiDeps, caller: ActorCaller, id: string) {
  return toRule(await ruleRow(deps, caller, id, await allowed(deps, caller)));
}

/**
 * Steps may name only users of the organisation and endpoints the caller manages, and only
 * users and roles who can see and take the rule's alarms: alarm:read and alarm:acknowledge
 * on the rule's whole department (an alert to someone who cannot act wakes the wrong person).
 */
async function checkSteps(
  deps: ApiDeps,
  caller: ActorCaller,
  ids: string[],
  departmentId: string,
  steps: AlertRule["steps"],
) {
  const users = [...new Set(steps.flatMap((s) => s.users ?? []))];
  const endpoints = [...new Set(steps.flatMap((s) => s.endpointIds ?? []))];
  const { rows } = await deps.pool.query<{ users: number; endpoints: number }>(
    `SELECT (SELECT count(*)::int FROM staff_users WHERE organisation_id = $1 AND id = ANY($2::uuid[])) AS users,
            (SELECT count(*)::int FROM alert_endpoints WHERE organisation_id = $1 AND id = ANY($3::uuid[])
                AND department_id = ANY($4::uuid[])) AS endpoints`,
    [caller.organisationId, users, endpoints, ids],
  );
  if (rows[0]?.users !== users.length)
    throw new ApiError("validation_failed", "A step names an unknown user.");
  if (rows[0]?.endpoints !== endpoints.length)
    throw new ApiError("validation_failed", "A step names an unknown endpoint.");
  await refuseTargetsWhoCannotAct(deps.pool, caller.organisationId, departmentId, steps);
}

/** Who a rule of the department may alert: for the routing editor (routing:manage there). */
export async function listTargets(deps: ApiDeps, caller: ActorCaller, departmentId: string) {
  await allowed(deps, caller, departmentId);
  return alertTargetsIn(deps.pool, caller.organisationId, departmentId);
}

export async function createRule(deps: ApiDeps, caller: ActorCaller, body: z.infer<typeof alertRuleCreate>) {
  const ids = await allowed(deps, caller, body.departmentId);
  await checkSteps(deps, caller, ids, body.departmentId, body.steps);
  return withTransaction(deps.pool, async (tx) => {
    const { rows } = await tx.query<RuleRow>(
      `INSERT INTO alert_rules (organisation_id, department_id, name, alarm_types, severities, schedule, steps,
                                reminder_interval_s, max_reminders, enabled, created_at, updated_at, cancel_window_s)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12) RETURNING *`,
      [
        caller.organisationId,
        body.departmentId,
        body.name,
        body.alarmTypes,
        body.severities,
        body.schedule === null ? null : JSON.stringify(body.schedule),
        JSON.stringify(body.steps),
        body.reminderIntervalS,
        body.maxReminders,
        body.enabled,
        caller.now,
        body.cancelWindowS,
      ],
    );
    const rule = rows[0] as RuleRow;
    await logActivity(tx, caller, {
      action: "alert_rule.created",
      subjectType: "alert_rule",
      subjectId: rule.id,
    });
    return toRule(rule);
  });
}

export async function updateRule(
  deps: ApiDeps,
  caller: ActorCaller,
  id: string,
  body: z.infer<typeof alertRuleUpdate>,
) {
  const ids = await allowed(deps, caller);
  const current = toRule(await ruleRow(deps, caller, id, ids));
  const next = { ...current, ...body };
  if (body.steps) await checkSteps(deps, caller, ids, current.departmentId, body.steps);
  return withTransaction(deps.pool, async (tx) => {
    const { rows } = await tx.query<RuleRow>(
      `UPDATE alert_rules SET name = $3, alarm_types = $4, severities = $5, schedule = $6, steps = $7,
              reminder_interval_s = $8, max_reminders = $9, enabled = $10, updated_at = $11,
              cancel_window_s = $12
        WHERE organisation_id = $1 AND id = $2 RETURNING *`,
      [
        caller.organisationId,
        id,
        next.name,
        next.alarmTypes,
        next.severities,
        next.schedule === null ? null : JSON.stringify(next.schedule),
        JSON.stringify(next.steps),
        next.reminderIntervalS,
        next.maxReminders,
        next.enabled,
        caller.now,
        next.cancelWindowS,
      ],
    );
    await logActivity(tx, caller, {
      action: "alert_rule.updated",
      subjectType: "alert_rule",
      subjectId: id,
      details: { fields: Object.keys(body) },
    });
    return toRule(rows[0] as RuleRow);
  });
}

export async function deleteRule(deps: ApiDeps, caller: ActorCaller, id: string) {
  const ids = await allowed(deps, caller);
  await ruleRow(deps, caller, id, ids);
  await withTransaction(deps.pool, async (tx) => {
    await tx.query("DELETE FROM alert_rules WHERE organisation_id = $1 AND id = $2", [
      caller.organisationId,
      id,
    ]);
    await logActivity(tx, caller, { action: "alert_rule.deleted", subjectType: "alert_rule", subjectId: id });
  });
}

interface EndpointRow {
  id: string;
  organisation_id: string;
  department_id: string;
  name: string;
  kind: AlertEndpoint["kind"];
  target: string;
  secret: string | null;
  enabled: boolean;
}
const toEndpoint = (e: EndpointRow): AlertEndpoint => ({
  id: e.id,
  departmentId: e.department_id,
  name: e.name,
  kind: e.kind,
  target: e.target,
  enabled: e.enabled,
  signed: e.secret !== null,
});

export async function listEndpoints(deps: ApiDeps, caller: ActorCaller) {
  const ids = await allowed(deps, caller);
  const { rows } = await deps.pool.query<EndpointRow>(
    "SELECT * FROM alert_endpoints WHERE organisation_id = $1 AND department_id = ANY($2::uuid[]) ORDER BY name, id",
    [caller.organisationId, ids],
  );
  return rows.map(toEndpoint);
}

async function endpointRow(deps: ApiDeps, caller: ActorCaller, id: string) {
  const ids = await allowed(deps, caller);
  const { rows } = await deps.pool.query<EndpointRow>(
    "SELECT * FROM alert_endpoints WHERE organisation_id = $1 AND id = $2 AND department_id = ANY($3::uuid[])",
    [caller.organisationId, id, ids],
  );
  if (!rows[0]) throw new ApiError("not_found", "No such endpoint.");
  return rows[0];
}

export async function createEndpoint(
  deps: ApiDeps,
  caller: ActorCaller,
  body: z.infer<typeof alertEndpointCreate>,
) {
  await allowed(deps, caller, body.departmentId);
  if (body.kind === "webhook") assertOutboundUrl(deps, body.target, "target");
  const secret = body.kind === "webhook" ? randomBytes(32).toString("base64url") : null;
  return withTransaction(deps.pool, async (tx) => {
    const { rows } = await tx.query<EndpointRow>(
      `INSERT INTO alert_endpoints (organisation_id, department_id, name, kind, target, secret, enabled, created_at,
                                    updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING *`,
      [
        caller.organisationId,
        body.departmentId,
        body.name,
        body.kind,
        body.target,
        secret,
        body.enabled ?? true,
        caller.now,
      ],
    );
    const e = rows[0] as EndpointRow;
    await logActivity(tx, caller, {
      action: "alert_endpoint.created",
      subjectType: "alert_endpoint",
      subjectId: e.id,
    });
    return { ...toEndpoint(e), secret };
  });
}

export async function updateEndpoint(
  deps: ApiDeps,
  caller: ActorCaller,
  id: string,
  body: z.infer<typeof alertEndpointUpdate>,
) {
  const e = await endpointRow(deps, caller, id);
  const next = {
    ...e,
    ...(body.name ? { name: body.name } : {}),
    ...(body.target ? { target: body.target } : {}),
  };
  const parsed = alertEndpointCreate.safeParse({
    departmentId: e.department_id,
    name: next.name,
    kind: e.kind,
    target: next.target,
  });
  if (!parsed.success) throw ApiError.validation(parsed.error);
  if (e.kind === "webhook") assertOutboundUrl(deps, next.target, "target");
  return withTransaction(deps.pool, async (tx) => {
    const { rows } = await tx.query<EndpointRow>(
      `UPDATE alert_endpoints SET name = $3, target = $4, enabled = $5, updated_at = $6
        WHERE organisation_id = $1 AND id = $2 RETURNING *`,
      [caller.organisationId, id, next.name, next.target, body.enabled ?? e.enabled, caller.now],
    );
    await logActivity(tx, caller, {
      action: "alert_endpoint.updated",
      subjectType: "alert_endpoint",
      subjectId: id,
    });
    return toEndpoint(rows[0] as EndpointRow);
  });
}

export async function deleteEndpoint(deps: ApiDeps, caller: ActorCaller, id: string) {
  await endpointRow(deps, caller, id);
  await withTransaction(deps.pool, async (tx) => {
    await tx.query("DELETE FROM alert_endpoints WHERE organisation_id = $1 AND id = $2", [
      caller.organisationId,
      id,
    ]);
    await logActivity(tx, caller, {
      action: "alert_endpoint.deleted",
      subjectType: "alert_endpoint",
      subjectId: id,
    });
  });
}

export async function pingEndpointById(deps: ApiDeps, caller: ActorCaller, id: string) {
  const e = await endpointRow(deps, caller, id);
  const result = await pingEndpoint(deps, {
    id: e.id,
    organisationId: e.organisation_id,
    kind: e.kind,
    target: e.target,
    secret: e.secret,
  });
  await withTransaction(deps.pool, (tx) =>
    logActivity(tx, caller, {
      action: "alert_endpoint.pinged",
      subjectType: "alert_endpoint",
      subjectId: id,
      details: { ok: result.ok },
    }),
  );
  return { ok: result.ok, channel: e.kind, target: e.target, detail: result.detail };
}
