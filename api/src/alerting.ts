/**
 * What happens to a new alarm besides the live push: the first API process to
 * claim it (an INSERT into alarm_routing) turns tracking on for the device
 * (devices.tracking_until and a `track` command) and starts alert routing.
 *
 * Routing picks the rule of the deepest department on the alarm's ancestry
 * with an enabled rule matching its type, severity and the schedule (in the
 * organisation's time zone), and runs its steps as graphile-worker jobs: a step
 * tells its users/roles on their channels and its endpoints, then schedules
 * the next step after its wait. Jobs live in PostgreSQL, so escalation
 * survives a restart of every process; a step that finds the alarm taken does
 * nothing, so taking the alarm stops the escalation. Deliveries (e-mail,
 * webhook, SMS) are jobs of their own, retried with graphile-worker's
 * exponential backoff, and every attempt is an alarm_deliveries row.
 */
import { createHmac, randomBytes } from "node:crypto";
import type { EscalationStep, NotificationChannel } from "@vakt/schemas";
import { EVENTS_CHANNEL, isE164, platformEvent } from "@vakt/schemas";
import { type Queryable, withTransaction } from "@vakt/storage";
import { type JobHelpers, Logger, type Runner, run, runMigrations } from "graphile-worker";
import type pg from "pg";
import type { Bus } from "./bus";
import type { ApiDeps } from "./deps";
import { type OutboundHttp, outboundOf, refusalOf } from "./outbound";
import { grantsOf, mayActOnAlarmsIn, roleActsOnAlarms } from "./policy";
import { commandId, loadAlarmRow, toAlarmSummary } from "./services/alarms";

export interface AlertingOptions {
  /** graphile-worker concurrency in this process; 0: claim alarms, but run no jobs here. */
  concurrency?: number;
  /** How often the worker looks for due jobs (default 500 ms). */
  pollIntervalMs?: number;
  /** Timeout of one webhook or SMS request (default 10 s). */
  httpTimeoutMs?: number;
}

export interface Alerting {
  /** Claims an alarm (idempotent across processes): tracking on, routing started. */
  claim(alarmId: string): Promise<boolean>;
  /**
   * Resolves once the alarm's routing row is committed, by this process or another (the claim's
   * INSERT waits for a concurrent one), so a new alarm is pushed with its cancel window known.
   * The rest of the claim (the track command) goes on after it.
   */
  routed(alarmId: string): Promise<void>;
  close(): Promise<void>;
}

interface Window {
  days: number[];
  start: string;
  end: string;
}
interface RuleRow {
  id: string;
  department_id: string;
  depth: number;
  alarm_types: string[] | null;
  severities: string[] | null;
  schedule: Window[] | null;
  steps: EscalationStep[];
  reminder_interval_s: number | null;
  max_reminders: number;
  cancel_window_s: number | null;
}

/** Seconds of the cancel window: the rule's, or 30 s for a fall (a detector's guess) and none otherwise. */
export function cancelWindowOf(rule: { cancel_window_s: number | null }, alarmType: string): number {
  return rule.cancel_window_s ?? (alarmType === "fall" ? 30 : 0);
}

/** ISO weekday (1-7) and minutes since midnight of `at` in `timeZone` (Intl, so DST is right). */
export function localTime(at: Date, timeZone: string): { weekday: number; minutes: number } {
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone,
    weekday: "short",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(at);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "";
  const weekday = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].indexOf(get("weekday")) + 1;
  return { weekday, minutes: Number(get("hour")) * 60 + Number(get("minute")) };
}

const toMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Whether a schedule (null: always) is on at `at`; a window ending before it starts runs past midnight. */
export function scheduleActive(schedule: Window[] | null, at: Date, timeZone: string): boolean {
  if (!schedule) return true;
  const { weekday, minutes } = localTime(at, timeZone);
  const yesterday = weekday === 1 ? 7 : weekday - 1;
  return schedule.some((w) => {
    const start = toMinutes(w.start);
    const end = toMinutes(w.end);
    if (start < end) return w.days.includes(weekday) && minutes >= start && minutes < end;
    // Overnight: the part after midnight belongs to the day the window started.
    return (w.days.includes(weekday) && minutes >= start) || (w.days.includes(yesterday) && minutes < end);
  });
}

/** The rule for an alarm: deepest department first, then the first matching rule there. */
export async function findRule(
  db: Queryable,
  alarm: { organisation_id: string; department_id: string; type: string; severity: string },
  at: Date,
): Promise<RuleRow | undefined> {
  const { rows } = await db.query<RuleRow & { time_zone: string }>(
    `SELECT r.id, r.department_id, array_position(d.ancestry, r.department_id) AS depth, r.alarm_types,
            r.severities, r.schedule, r.steps, r.reminder_interval_s, r.max_reminders, r.cancel_window_s, o.time_zone
       FROM departments d
       JOIN alert_rules r ON r.organisation_id = d.organisation_id AND r.department_id = ANY(d.ancestry)
       JOIN organisations o ON o.id = d.organisation_id
      WHERE d.organisation_id = $1 AND d.id = $2 AND r.enabled
        AND (r.alarm_types IS NULL OR $3 = ANY(r.alarm_types))
        AND (r.severities IS NULL OR $4 = ANY(r.severities))
      ORDER BY depth DESC, r.created_at, r.id`,
    [alarm.organisation_id, alarm.department_id, alarm.type, alarm.severity],
  );
  return rows.find((r) => scheduleActive(r.schedule, at, r.time_zone || "Europe/Oslo"));
}

async function addJob(
  db: Queryable,
  task: string,
  payload: unknown,
  options: { runAt?: Date; jobKey?: string; maxAttempts?: number } = {},
) {
  await db.query(
    "SELECT graphile_worker.add_job($1, $2::json, run_at => $3, job_key => $4, max_attempts => $5)",
    [task, JSON.stringify(payload), options.runAt ?? null, options.jobKey ?? null, options.maxAttempts ?? 1],
  );
}

async function recordDelivery(
  db: Queryable,
  metrics: ApiDeps["metrics"],
  d: {
    organisationId: string;
    alarmId: string | null;
    endpointId?: string | null;
    step: number | null;
    channel: NotificationChannel;
    target: string;
    result: "sent" | "failed" | "retrying" | "skipped" | "refused";
    attempt?: number;
    detail?: string | null;
    /** Why it was skipped, as a code the console words (migration 0231). */
    reason?: SkipReason | null;
  },
) {
  await db.query(
    `INSERT INTO alarm_deliveries (organisation_id, alarm_id, endpoint_id, step, channel, target, result, attempt,
                                   detail, reason)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [
      d.organisationId,
      d.alarmId,
      d.endpointId ?? null,
      d.step,
      d.channel,
      d.target,
      d.result,
      d.attempt ?? 1,
      d.detail?.slice(0, 1000) ?? null,
      d.reason ?? null,
    ],
  );
  metrics?.alertDeliveries.inc({ channel: d.channel, result: d.result });
}

export type SkipReason = "no_phone" | "phone_not_e164" | "cannot_act";

/** An SMS goes only to a valid E.164 number: one stored before numbers were checked is skipped. */
export const PHONE_NOT_E164 = "phone number is not valid E.164 (stored before numbers were checked)";

export interface DeliverPayload {
  organisationId: string;
  alarmId: string | null;
  endpointId: string | null;
  step: number | null;
  channel: "email" | "webhook" | "sms";
  target: string;
  /** Stable across retries: receivers drop repeats by it. */
  idempotencyKey: string;
  /** A test message from the "ping endpoint" route. */
  ping?: boolean;
}

/** HMAC-SHA256 over `<timestamp>.<body>`, hex: what `X-Vakt-Signature` carries after `sha256=`. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
}

/** Sends one message on one channel; throws when it did not go out. */
export async function sendOnChannel(
  deps: ApiDeps,
  p: DeliverPayload,
  content: { subject: string; text: string; json: unknown },
  options: { secret?: string | null; timeoutMs?: number } = {},
): Promise<string | null> {
  if (p.channel === "email") {
    if (!deps.mailer) throw new Error("no mailer configured (SMTP_URL)");
    await deps.mailer.send({ to: p.target, subject: content.subject, text: content.text });
    return null;
  }
  if (p.channel === "sms") {
    if (!deps.sms) throw new Error("no SMS gateway configured (SMS_GATEWAY_URL)");
    if (!isE164(p.target)) throw new Error(PHONE_NOT_E164);
    await deps.sms.send(p.target, content.text);
    return null;
  }
  const body = JSON.stringify(content.json);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": "vakt-webhook/1",
    "idempotency-key": p.idempotencyKey,
    "x-vakt-timestamp": timestamp,
  };
  if (options.secret)
    headers["x-vakt-signature"] = `sha256=${webhookSignature(options.secret, timestamp, body)}`;
  const res = await outboundOf(deps).fetch(p.target, {
    method: "POST",
    headers,
    body,
    signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
  });
  await res.body?.cancel().catch(() => {});
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return `HTTP ${res.status}`;
}

/** SMS through an HTTP gateway: POST {to, text} as JSON, through the outbound guard. */
export function httpSmsGateway(
  url: string,
  http: OutboundHttp,
  timeoutMs = 10_000,
): NonNullable<ApiDeps["sms"]> {
  return {
    async send(to, text) {
      const res = await http.fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ to, text }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.body?.cancel().catch(() => {});
      if (!res.ok) throw new Error(`SMS gateway answered HTTP ${res.status}`);
    },
  };
}

const MAX_DELIVERY_ATTEMPTS = 5;

export async function startAlerting(
  deps: ApiDeps & { bus: Bus },
  options: AlertingOptions = {},
): Promise<Alerting> {
  const log = deps.logger.child({ component: "alerting" });
  const trackingMs = (deps.config.ALARM_TRACKING_MINUTES ?? 60) * 60_000;

  async function claim(alarmId: string, onRouted?: () => void): Promise<boolean> {
    const outcome = await withTransaction(deps.pool, async (tx) => {
      const alarm = await loadAlarmRow(tx, alarmId);
      if (alarm?.state !== "open") return undefined;
      const claimed = await tx.query(
        `INSERT INTO alarm_routing (alarm_id, organisation_id, status) VALUES ($1, $2, 'no_rule')
         ON CONFLICT (alarm_id) DO NOTHING`,
        [alarmId, alarm.organisation_id],
      );
      if ((claimed.rowCount ?? 0) === 0) return undefined;
      const now = deps.clock.now();
      // Alarms from the wearer (and leaving a safe zone) turn tracking on; low battery or no contact do not.
      const track = alarm.source === "device" || alarm.type === "geofence_exit";
      const until = new Date(now.getTime() + trackingMs);
      if (track) {
        await tx.query(
          `UPDATE devices SET tracking_until = greatest(coalesce(tracking_until, $2), $2) WHERE id = $1`,
          [alarm.device_id, until],
        );
      }
      const rule = await findRule(tx, alarm, now);
      let windowed = false;
      if (rule && rule.steps.length > 0) {
        // The window counts from when the wearer raised it (a late-delivered alarm has less of it left).
        const windowS = cancelWindowOf(rule, alarm.type);
        // A device clock ahead of ours must not delay alerting: never later than now + the window.
        const from = Math.min(alarm.raised_at.getTime(), now.getTime());
        const windowEnd = new Date(from + windowS * 1000);
        windowed = windowS > 0 && windowEnd > now;
        await tx.query(
          "UPDATE alarm_routing SET rule_id = $2, status = 'active', cancel_until = $3 WHERE alarm_id = $1",
          [alarmId, rule.id, windowed ? windowEnd : null],
        );
        // A job at run_at, not a timer: the window outlives a restart, and step 1 finds a cancelled alarm closed.
        await addJob(
          tx,
          "alarm_step",
          { alarmId, run: 1 },
          { jobKey: `alarm:${alarmId}`, runAt: windowed ? windowEnd : undefined },
        );
      }
      return { serial: alarm.serial, until, deviceId: alarm.device_id, track, windowed };
    }).finally(() => onRouted?.());
    if (!outcome) return false;
    // The console shows the countdown: the alarm it already has now carries its window's end.
    if (outcome.windowed) deps.bus.emit("alarm", { alarmId, change: "cancel_window" });
    if (!outcome.track) return true;
    await deps.deviceCommands
      .publishCommand(outcome.serial, {
        v: 1,
        id: commandId("trk"),
        command: "track",
        untilMs: outcome.until.getTime(),
      })
      .catch((err) => log.warn({ err, alarmId }, "track command failed"));
    deps.bus.emit("device", { deviceId: outcome.deviceId });
    return true;
  }

  /** One run of the escalation: run n is step n, runs after the last step are reminders. */
  async function alarmStep(payload: { alarmId: string; run: number }) {
    const alerts: {
      userIds: string[];
      step: number | null;
      message: string;
      asked: { id: string; name: string }[];
    }[] = [];
    await withTransaction(deps.pool, async (tx) => {
      const { rows } = await tx.query<{
        organisation_id: string;
        rule_id: string | null;
        next_step: number;
        status: string;
        reminders_sent: number;
      }>("SELECT * FROM alarm_routing WHERE alarm_id = $1 FOR UPDATE", [payload.alarmId]);
      const routing = rows[0];
      if (routing?.status !== "active" || routing.next_step !== payload.run) return;
      const alarm = await loadAlarmRow(tx, payload.alarmId);
      if (alarm?.state !== "open") {
        await tx.query(
          "UPDATE alarm_routing SET status = 'stopped', updated_at = now() WHERE alarm_id = $1",
          [payload.alarmId],
        );
        return;
      }
      const rule = (await tx.query<RuleRow>("SELECT * FROM alert_rules WHERE id = $1", [routing.rule_id]))
        .rows[0];
      const steps = rule?.steps ?? [];
      if (!rule || steps.length === 0) {
        await tx.query("UPDATE alarm_routing SET status = 'done' WHERE alarm_id = $1", [payload.alarmId]);
        return;
      }
      const stepNo = Math.min(payload.run, steps.length);
      const reminder = payload.run > steps.length;
      const step = steps[stepNo - 1] as EscalationStep;
      const summary = toAlarmSummary(deps, null, alarm);
      const who = summary.recipient
        ? `${summary.recipient.firstName} ${summary.recipient.lastName}`
        : "unknown";
      const text =
        `${reminder ? "Reminder: " : ""}${alarm.type.toUpperCase()} alarm (${alarm.severity}) for ${who}, ` +
        `${alarm.department_name}, raised ${alarm.raised_at.toISOString()}. Nobody has taken it yet. ` +
        `${deps.config.PUBLIC_URL}/alarms/${alarm.id}`;
      // Users named in the step and everyone with one of its roles covering the alarm's department.
      // Only roles and users who can see and take the alarm here (the rule was checked when saved;
      // grants may have changed since): a named user who cannot act is skipped, and the skip recorded.
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
      const users = await tx.query<{ id: string; email: string; phone: string | null; name: string }>(
        `SELECT DISTINCT u.id, u.email, u.phone, u.first_name || ' ' || u.last_name AS name FROM staff_users u
           LEFT JOIN role_grants g ON g.organisation_id = u.organisation_id AND g.user_id = u.id
          WHERE u.organisation_id = $1 AND u.status = 'active' AND u.access_ended_at IS NULL
            AND (u.id = ANY($2::uuid[])
                 OR (g.role = ANY($3::text[]) AND (g.department_id IS NULL OR g.department_id IN (
                       SELECT unnest(ancestry) FROM departments WHERE id = $4))))`,
        [alarm.organisation_id, mayAct, roles, alarm.department_id],
      );
      const deliveries: DeliverPayload[] = [];
      const base = { organisationId: alarm.organisation_id, alarmId: alarm.id, step: stepNo };
      const key = (target: string) => `${alarm.id}:${payload.run}:${target}`;
      for (const channel of step.channels ?? ["console"]) {
        if (channel === "console") {
          const ids = users.rows.map((u) => u.id);
          alerts.push({
            userIds: ids,
            step: reminder ? null : stepNo,
            message: text,
            asked: users.rows.map((u) => ({ id: u.id, name: u.name })),
          });
          for (const id of ids)
            await recordDelivery(tx, deps.metrics, {
              ...base,
              channel: "console",
              target: id,
              result: "sent",
            });
        }
        for (const u of users.rows) {
          if (channel === "email")
            deliveries.push({
              ...base,
              endpointId: null,
              channel,
              target: u.email,
              idempotencyKey: key(u.email),
            });
          if (channel === "sms") {
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
      }
      if ((step.endpointIds ?? []).length > 0) {
        const eps = await tx.query<{ id: string; kind: "webhook" | "email" | "sms"; target: string }>(
          `SELECT id, kind, target FROM alert_endpoints
            WHERE organisation_id = $1 AND id = ANY($2::uuid[]) AND enabled`,
          [alarm.organisation_id, step.endpointIds],
        );
        for (const e of eps.rows)
          deliveries.push({
            ...base,
            endpointId: e.id,
            channel: e.kind,
            target: e.target,
            idempotencyKey: key(e.id),
          });
      }
      for (const d of deliveries)
        await addJob(tx, "deliver", d, { maxAttempts: d.channel === "webhook" ? MAX_DELIVERY_ATTEMPTS : 3 });
      await tx.query(
        `INSERT INTO alarm_transitions (organisation_id, alarm_id, kind, from_state, to_state, details)
         VALUES ($1, $2, 'escalated', 'open', 'open', $3)`,
        [
          alarm.organisation_id,
          alarm.id,
          JSON.stringify({
            step: stepNo,
            reminder,
            ruleId: rule.id,
            deliveries: deliveries.length + alerts.length,
          }),
        ],
      );
      // What comes next: the next step after this one's wait, or a reminder, or nothing.
      const reminders = payload.run - steps.length;
      let nextAt: Date | null = null;
      if (payload.run < steps.length) nextAt = new Date(Date.now() + step.waitS * 1000);
      else if (rule.reminder_interval_s && reminders < rule.max_reminders)
        nextAt = new Date(Date.now() + rule.reminder_interval_s * 1000);
      if (nextAt) {
        await tx.query(
          "UPDATE alarm_routing SET next_step = $2, reminders_sent = $3, updated_at = now() WHERE alarm_id = $1",
          [alarm.id, payload.run + 1, Math.max(0, reminders)],
        );
        await addJob(
          tx,
          "alarm_step",
          { alarmId: alarm.id, run: payload.run + 1 },
          {
            runAt: nextAt,
            jobKey: `alarm:${alarm.id}`,
          },
        );
      } else {
        await tx.query("UPDATE alarm_routing SET status = 'done', updated_at = now() WHERE alarm_id = $1", [
          alarm.id,
        ]);
      }
      for (const a of alerts) (a as { summary?: unknown }).summary = summary;
    });
    for (const a of alerts) {
      const summary = (a as { summary?: ReturnType<typeof toAlarmSummary> }).summary;
      if (summary)
        deps.bus.emit("alert", {
          userIds: a.userIds,
          alert: { alarm: summary, step: a.step, message: a.message, asked: a.asked },
        });
    }
    // Everyone watching the department learns that the alarm moved on (their open panel reloads who was asked).
    if (alerts.length > 0) deps.bus.emit("alarm", { alarmId: payload.alarmId, change: "escalated" });
  }

  async function deliver(p: DeliverPayload, helpers: JobHelpers) {
    const attempt = helpers.job.attempts;
    const last = attempt >= helpers.job.max_attempts;
    let content: { subject: string; text: string; json: unknown };
    if (p.alarmId) {
      const alarm = await loadAlarmRow(deps.pool, p.alarmId);
      if (!alarm) return;
      if (alarm.state !== "open") {
        await recordDelivery(deps.pool, deps.metrics, {
          ...p,
          result: "skipped",
          attempt,
          detail: `alarm ${alarm.state}`,
        });
        return;
      }
      const summary = toAlarmSummary(deps, null, alarm);
      const who = summary.recipient
        ? `${summary.recipient.firstName} ${summary.recipient.lastName}`
        : "unknown";
      const text =
        `${alarm.type.toUpperCase()} alarm (${alarm.severity}) for ${who}, ${alarm.department_name}. ` +
        `Raised ${alarm.raised_at.toISOString()}. ${deps.config.PUBLIC_URL}/alarms/${alarm.id}`;
      content = {
        subject: `Vakt: ${alarm.type} alarm for ${who}`,
        text,
        json: {
          id: p.idempotencyKey,
          event: "alarm.alert",
          step: p.step,
          sentAt: new Date().toISOString(),
          alarm: summary,
        },
      };
    } else {
      content = {
        subject: "Vakt: test message",
        text: "Test message from Vakt: this endpoint is reachable.",
        json: { id: p.idempotencyKey, event: "ping", sentAt: new Date().toISOString() },
      };
    }
    // The last guard: whatever queued it (an endpoint saved before numbers were checked), no SMS to a bad number.
    if (p.channel === "sms" && !isE164(p.target)) {
      await recordDelivery(deps.pool, deps.metrics, {
        ...p,
        result: "skipped",
        attempt,
        reason: "phone_not_e164",
        detail: PHONE_NOT_E164,
      });
      return;
    }
    const secret = p.endpointId
      ? (
          await deps.pool.query<{ secret: string | null }>(
            "SELECT secret FROM alert_endpoints WHERE id = $1",
            [p.endpointId],
          )
        ).rows[0]?.secret
      : null;
    try {
      const detail = await sendOnChannel(deps, p, content, {
        secret: secret ?? null,
        timeoutMs: options.httpTimeoutMs ?? 10_000,
      });
      await recordDelivery(deps.pool, deps.metrics, { ...p, result: "sent", attempt, detail });
    } catch (err) {
      const refused = refusalOf(err);
      if (refused) {
        // An address the guard refuses stays refused: recorded once, not retried.
        await recordDelivery(deps.pool, deps.metrics, {
          ...p,
          result: "refused",
          attempt,
          detail: refused.message,
        });
        return;
      }
      const detail = describeFailure(err);
      await recordDelivery(deps.pool, deps.metrics, {
        ...p,
        result: last ? "failed" : "retrying",
        attempt,
        detail,
      });
      throw err; // graphile-worker retries with exponential backoff
    }
  }

  // A dropped idle connection must not crash the process (graphile-worker checks for these).
  if (deps.pool.listeners("error").length === 0)
    deps.pool.on("error", (err) => log.warn({ err }, "idle database connection failed"));
  if (deps.pool.listeners("connect").length === 0)
    deps.pool.on("connect", (client) =>
      client.on("error", (err) => log.warn({ err }, "database client failed")),
    );
  let runner: Runner | undefined;
  const concurrency = options.concurrency ?? 4;
  if (concurrency > 0) {
    runner = await run({
      pgPool: deps.pool,
      concurrency,
      noHandleSignals: true,
      pollInterval: options.pollIntervalMs ?? 500,
      logger: graphileLogger(log),
      taskList: {
        alarm_step: async (payload) => alarmStep(payload as { alarmId: string; run: number }),
        deliver: async (payload, helpers) => deliver(payload as DeliverPayload, helpers),
      },
    });
  } else {
    await runMigrations({ pgPool: deps.pool, logger: graphileLogger(log) });
  }

  // New alarms from ingest: claim them. A sweep picks up any raised while no API process ran.
  const listener: pg.PoolClient = await deps.pool.connect();
  let closed = false;
  listener.on("notification", (msg) => {
    if (closed || !msg.payload) return;
    try {
      const e = platformEvent.safeParse(JSON.parse(msg.payload));
      if (e.success && e.data.kind === "alarm.raised")
        void claim(e.data.alarmId).catch((err) => log.error({ err }, "claiming alarm failed"));
    } catch {}
  });
  listener.on("error", (err) => log.error({ err }, "alerting listener failed"));
  await listener.query(`LISTEN ${EVENTS_CHANNEL}`);
  const sweep = async () => {
    const { rows } = await deps.pool.query<{ id: string }>(
      `SELECT a.id FROM alarms a WHERE a.state = 'open' AND a.received_at > now() - interval '1 day'
          AND NOT EXISTS (SELECT 1 FROM alarm_routing r WHERE r.alarm_id = a.id) LIMIT 500`,
    );
    for (const r of rows) await claim(r.id).catch((err) => log.error({ err }, "claiming alarm failed"));
  };
  await sweep();
  const stopClaimingReopened = deps.bus.on(
    "reopened",
    (e) => void claim(e.alarmId).catch((err) => log.error({ err }, "claiming reopened alarm failed")),
  );
  const sweepTimer = setInterval(
    () => void sweep().catch((err) => log.error({ err }, "sweep failed")),
    15_000,
  );

  return {
    claim: (alarmId) => claim(alarmId),
    routed: (alarmId) =>
      new Promise<void>((resolve) => {
        void claim(alarmId, resolve).catch((err) => log.error({ err, alarmId }, "claiming alarm failed"));
      }),
    async close() {
      closed = true;
      clearInterval(sweepTimer);
      stopClaimingReopened();
      await listener.query("UNLISTEN *").catch(() => {});
      listener.release();
      await runner?.stop();
    },
  };
}

/** fetch's "fetch failed" says nothing; its cause says what went wrong (refused connection, timeout). */
function describeFailure(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const cause = (err as { cause?: unknown })?.cause;
  return cause instanceof Error && cause.message && message === "fetch failed"
    ? `${message}: ${cause.message}`
    : message;
}

/** Queues a test message to an endpoint and records it; answers when it is sent or failed once. */
export async function pingEndpoint(
  deps: ApiDeps,
  endpoint: {
    id: string;
    organisationId: string;
    kind: "webhook" | "email" | "sms";
    target: string;
    secret: string | null;
  },
): Promise<{ ok: boolean; detail: string | null }> {
  const p: DeliverPayload = {
    organisationId: endpoint.organisationId,
    alarmId: null,
    endpointId: endpoint.id,
    step: null,
    channel: endpoint.kind,
    target: endpoint.target,
    idempotencyKey: `ping:${endpoint.id}:${randomBytes(6).toString("hex")}`,
    ping: true,
  };
  try {
    const detail = await sendOnChannel(
      deps,
      p,
      {
        subject: "Vakt: test message",
        text: "Test message from Vakt: this endpoint is reachable.",
        json: { id: p.idempotencyKey, event: "ping", sentAt: new Date().toISOString() },
      },
      { secret: endpoint.secret, timeoutMs: 10_000 },
    );
    await recordDelivery(deps.pool, deps.metrics, { ...p, result: "sent", detail });
    return { ok: true, detail };
  } catch (err) {
    const refused = refusalOf(err);
    const detail = refused ? refused.message : describeFailure(err);
    await recordDelivery(deps.pool, deps.metrics, { ...p, result: refused ? "refused" : "failed", detail });
    return { ok: false, detail };
  }
}

function graphileLogger(log: ApiDeps["logger"]) {
  // graphile-worker's Logger takes a factory of (level, message, meta) functions.
  return new Logger(() => (level: string, message: string, meta?: unknown) => {
    const fn = level === "error" ? log.error : level === "warning" ? log.warn : log.debug;
    fn.call(log, { meta }, message);
  });
}

/**
 * Installs or upgrades graphile-worker's schema, as the tables' owner, before
 * processes connect as the runtime role (which may use the schema, not change it).
 * Then grants the runtime group role its privileges on it (vakt_app, migration 0111).
 */
export async function runGraphileMigrations(pool: pg.Pool, log: ApiDeps["logger"]): Promise<void> {
  await runMigrations({ pgPool: pool, logger: graphileLogger(log) });
  await pool.query("SELECT vakt_grant_app_role()");
}
