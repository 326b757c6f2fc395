/**
 * One run of an alarm's escalation (the `alarm_step` job): run n is step n of the rule, runs after
 * the last step are reminders. A step tells its users and roles on their channels and its endpoints,
 * then queues the next run after its wait. A step that finds the alarm no longer open stops, so
 * taking the alarm stops the escalation.
 */
import type { EscalationStep, LiveAlarmAlert } from "@vakt/schemas";
import { isE164 } from "@vakt/schemas";
import { withTransaction } from "@vakt/storage";
import type pg from "pg";
import type { AlarmRow } from "../alarms/rows";
import { loadAlarmRow, toAlarmSummary } from "../alarms/service";
import type { Bus } from "../bus";
import type { ApiDeps } from "../deps";
import { grantsOf, mayActOnAlarmsIn, roleActsOnAlarms } from "../policy";
import { type DeliverPayload, PHONE_NOT_E164 } from "./channels";
import { MAX_DELIVERY_ATTEMPTS, recordDelivery } from "./delivery";
import type { RuleRow } from "./rules";
import { addJob } from "./worker";

export interface StepPayload {
  alarmId: string;
  run: number;
}

/** The run being worked: its alarm, its rule and the step it is (a reminder repeats the last step). */
interface Run {
  payload: StepPayload;
  alarm: AlarmRow;
  rule: RuleRow;
  steps: EscalationStep[];
  stepNo: number;
  reminder: boolean;
  step: EscalationStep;
}

/** A console alert for the users it asks. */
type ConsoleAlert = { userIds: string[]; alert: LiveAlarmAlert };

interface AskedUser {
  id: string;
  email: string;
  phone: string | null;
  name: string;
}

/** The run, if it is still due: routing active at this run and the alarm open (else routing is closed). */
async function loadRun(tx: pg.PoolClient, payload: StepPayload): Promise<Run | undefined> {
  const { rows } = await tx.query<{
    organisation_id: string;
    rule_id: string | null;
    next_step: number;
    status: string;
    reminders_sent: number;
  }>("SELECT * FROM alarm_routing WHERE alarm_id = $1 FOR UPDATE", [payload.alarmId]);
  const routing = rows[0];
  if (routing?.status !== "active" || routing.next_step !== payload.run) return undefined;
  const alarm = await loadAlarmRow(tx, payload.alarmId);
  if (alarm?.state !== "open") {
    await tx.query("UPDATE alarm_routing SET status = 'stopped', updated_at = now() WHERE alarm_id = $1", [
      payload.alarmId,
    ]);
    return undefined;
  }
  const rule = (await tx.query<RuleRow>("SELECT * FROM alert_rules WHERE id = $1", [routing.rule_id]))
    .rows[0];
  const steps = rule?.steps ?? [];
  if (!rule || steps.length === 0) {
    await tx.query("UPDATE alarm_routing SET status = 'done' WHERE alarm_id = $1", [payload.alarmId]);
    return undefined;
  }
  const stepNo = Math.min(payload.run, steps.length);
  const step = steps[stepNo - 1] as EscalationStep;
  return { payload, alarm, rule, steps, stepNo, reminder: payload.run > steps.length, step };
}

/**
 * Users named in the step and everyone with one of its roles covering the alarm's department.
 * Only roles and users who can see and take the alarm here (the rule was checked when saved;
 * grants may have changed since): a named user who cannot act is skipped, and the skip recorded.
 */
async function whoIsAsked(tx: pg.PoolClient, deps: ApiDeps, r: Run): Promise<AskedUser[]> {
  const { alarm, step, stepNo } = r;
  const roles = (step.roles ?? []).filter(roleActsOnAlarms);
  const ancestry =
    (
      await tx.query<{ ancestry: string[] }>("SELECT ancestry FROM departments WHERE id = $1", [
        alarm.department_id,
      ])
    ).rows[0]?.ancestry ?? [];
  const named = await grantsOf(tx, alarm.organisation_id, step.users ?? []);
  const cannotAct = [...named].filter(([, u]) => !mayActOnAlarmsIn(u.grants, ancestry)).map(([id]) => id);
  for (const id of cannotAct)
    await recordDelivery(tx, deps.metrics, {
      organisationId: alarm.organisation_id,
      alarmId: alarm.id,
      step: stepNo,
      channel: (step.channels ?? ["console"])[0] ?? "console",
      target: id,
      result: "skipped",
      reason: "cannot_act",
      detail: `${named.get(id)?.name ?? id} cannot see and take alarms in ${alarm.department_name} (no alarm:read and alarm:acknowledge there)`,
    });
  const mayAct = (step.users ?? []).filter((id) => !cannotAct.includes(id));
  const users = await tx.query<AskedUser>(
    `SELECT DISTINCT u.id, u.email, u.phone, u.first_name || ' ' || u.last_name AS name FROM staff_users u
       LEFT JOIN role_grants g ON g.organisation_id = u.organisation_id AND g.user_id = u.id
      WHERE u.organisation_id = $1 AND u.status = 'active' AND u.access_ended_at IS NULL
        AND (u.id = ANY($2::uuid[])
             OR (g.role = ANY($3::text[]) AND (g.department_id IS NULL OR g.department_id IN (
                   SELECT unnest(ancestry) FROM departments WHERE id = $4))))`,
    [alarm.organisation_id, mayAct, roles, alarm.department_id],
  );
  return users.rows;
}

/** The text a step sends (console, e-mail, SMS). */
function stepText(deps: ApiDeps, r: Run, who: string): string {
  const { alarm } = r;
  return (
    `${r.reminder ? "Reminder: " : ""}${alarm.type.toUpperCase()} alarm (${alarm.severity}) for ${who}, ` +
    `${alarm.department_name}, raised ${alarm.raised_at.toISOString()}. Nobody has taken it yet. ` +
    `${deps.config.PUBLIC_URL}/alarms/${alarm.id}`
  );
}

/** Per channel of the step: console alerts (recorded as sent now), and the e-mails and SMS to queue. */
async function tellUsers(
  tx: pg.PoolClient,
  deps: ApiDeps,
  r: Run,
  users: AskedUser[],
): Promise<{ alerts: ConsoleAlert[]; deliveries: DeliverPayload[] }> {
  const { alarm, stepNo } = r;
  const summary = toAlarmSummary(deps, null, alarm);
  const who = summary.recipient ? `${summary.recipient.firstName} ${summary.recipient.lastName}` : "unknown";
  const message = stepText(deps, r, who);
  const alerts: ConsoleAlert[] = [];
  const deliveries: DeliverPayload[] = [];
  const base = { organisationId: alarm.organisation_id, alarmId: alarm.id, step: stepNo };
  const key = (target: string) => `${alarm.id}:${r.payload.run}:${target}`;
  for (const channel of r.step.channels ?? ["console"]) {
    if (channel === "console") {
      const asked = users.map((u) => ({ id: u.id, name: u.name }));
      alerts.push({
        userIds: users.map((u) => u.id),
        alert: { alarm: summary, step: r.reminder ? null : stepNo, message, asked },
      });
      for (const u of users)
        await recordDelivery(tx, deps.metrics, { ...base, channel: "console", target: u.id, result: "sent" });
    }
    for (const u of users) {
      if (channel === "email")
        deliveries.push({
          ...base,
          endpointId: null,
          channel,
          target: u.email,
          idempotencyKey: key(u.email),
        });
      if (channel !== "sms") continue;
      if (u.phone && isE164(u.phone))
        deliveries.push({
          ...base,
          endpointId: null,
          channel,
          target: u.phone,
          idempotencyKey: key(u.phone),
        });
      // The user's id as target: the timeline names whom, and a malformed number is not repeated.
      else
        await recordDelivery(tx, deps.metrics, {
          ...base,
          channel,
          target: u.id,
          result: "skipped",
          ...(u.phone
            ? { reason: "phone_not_e164" as const, detail: PHONE_NOT_E164 }
            : { reason: "no_phone" as const, detail: "no phone" }),
        });
    }
  }
  return { alerts, deliveries };
}

/** The step's endpoints (webhooks, shared mailboxes, SMS numbers), enabled ones only. */
async function endpointDeliveries(tx: pg.PoolClient, r: Run): Promise<DeliverPayload[]> {
  const { alarm, step, stepNo } = r;
  if ((step.endpointIds ?? []).length === 0) return [];
  const eps = await tx.query<{ id: string; kind: "webhook" | "email" | "sms"; target: string }>(
    `SELECT id, kind, target FROM alert_endpoints
      WHERE organisation_id = $1 AND id = ANY($2::uuid[]) AND enabled`,
    [alarm.organisation_id, step.endpointIds],
  );
  return eps.rows.map((e) => ({
    organisationId: alarm.organisation_id,
    alarmId: alarm.id,
    step: stepNo,
    endpointId: e.id,
    channel: e.kind,
    target: e.target,
    idempotencyKey: `${alarm.id}:${r.payload.run}:${e.id}`,
  }));
}

/** What comes next: the next step after this one's wait, or a reminder, or nothing (routing done). */
async function scheduleNext(tx: pg.PoolClient, r: Run): Promise<void> {
  const { alarm, rule, steps, step, payload } = r;
  const reminders = payload.run - steps.length;
  let nextAt: Date | null = null;
  if (payload.run < steps.length) nextAt = new Date(Date.now() + step.waitS * 1000);
  else if (rule.reminder_interval_s && reminders < rule.max_reminders)
    nextAt = new Date(Date.now() + rule.reminder_interval_s * 1000);
  if (!nextAt) {
    await tx.query("UPDATE alarm_routing SET status = 'done', updated_at = now() WHERE alarm_id = $1", [
      alarm.id,
    ]);
    return;
  }
  await tx.query(
    "UPDATE alarm_routing SET next_step = $2, reminders_sent = $3, updated_at = now() WHERE alarm_id = $1",
    [alarm.id, payload.run + 1, Math.max(0, reminders)],
  );
  await addJob(
    tx,
    "alarm_step",
    { alarmId: alarm.id, run: payload.run + 1 },
    { runAt: nextAt, jobKey: `alarm:${alarm.id}` },
  );
}

/** Works one run in one transaction; returns the console alerts to push once it is committed. */
async function runStepInTransaction(
  tx: pg.PoolClient,
  deps: ApiDeps,
  payload: StepPayload,
): Promise<ConsoleAlert[]> {
  const r = await loadRun(tx, payload);
  if (!r) return [];
  const users = await whoIsAsked(tx, deps, r);
  const { alerts, deliveries } = await tellUsers(tx, deps, r, users);
  deliveries.push(...(await endpointDeliveries(tx, r)));
  for (const d of deliveries)
    await addJob(tx, "deliver", d, { maxAttempts: d.channel === "webhook" ? MAX_DELIVERY_ATTEMPTS : 3 });
  await tx.query(
    `INSERT INTO alarm_transitions (organisation_id, alarm_id, kind, from_state, to_state, details)
     VALUES ($1, $2, 'escalated', 'open', 'open', $3)`,
    [
      r.alarm.organisation_id,
      r.alarm.id,
      JSON.stringify({
        step: r.stepNo,
        reminder: r.reminder,
        ruleId: r.rule.id,
        deliveries: deliveries.length + alerts.length,
      }),
    ],
  );
  await scheduleNext(tx, r);
  return alerts;
}

/** The `alarm_step` job. */
export async function runEscalationStep(deps: ApiDeps & { bus: Bus }, payload: StepPayload): Promise<void> {
  const alerts = await withTransaction(deps.pool, (tx) => runStepInTransaction(tx, deps, payload));
  for (const a of alerts) deps.bus.emit("alert", a);
  // Everyone watching the department learns that the alarm moved on (their open panel reloads who was asked).
  if (alerts.length > 0) deps.bus.emit("alarm", { alarmId: payload.alarmId, change: "escalated" });
}
