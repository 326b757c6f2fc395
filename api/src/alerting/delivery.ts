/**
 * Deliveries: the `deliver` job (one message to one target, retried with graphile-worker's
 * exponential backoff), the test message of the "ping endpoint" route, and the alarm_deliveries row
 * every attempt leaves (sent, retrying, failed, skipped with its reason, refused by the outbound guard).
 */
import { randomBytes } from "node:crypto";
import type { NotificationChannel } from "@vakt/schemas";
import { isE164 } from "@vakt/schemas";
import type { Queryable } from "@vakt/storage";
import type { JobHelpers } from "graphile-worker";
import { loadAlarmRow, toAlarmSummary } from "../alarms/service";
import type { ApiDeps } from "../deps";
import { refusalOf } from "../outbound";
import {
  type DeliverPayload,
  describeFailure,
  type MessageContent,
  PHONE_NOT_E164,
  sendOnChannel,
} from "./channels";

export type SkipReason = "no_phone" | "phone_not_e164" | "cannot_act";

export const MAX_DELIVERY_ATTEMPTS = 5;

export async function recordDelivery(
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

const pingContent = (idempotencyKey: string): MessageContent => ({
  subject: "Vakt: test message",
  text: "Test message from Vakt: this endpoint is reachable.",
  json: { id: idempotencyKey, event: "ping", sentAt: new Date().toISOString() },
});

/** What an alarm's message says; undefined when the alarm is gone, "closed" when it is no longer open. */
async function alarmContent(
  deps: ApiDeps,
  p: DeliverPayload & { alarmId: string },
): Promise<MessageContent | { closed: string } | undefined> {
  const alarm = await loadAlarmRow(deps.pool, p.alarmId);
  if (!alarm) return undefined;
  if (alarm.state !== "open") return { closed: alarm.state };
  const summary = toAlarmSummary(deps, null, alarm);
  const who = summary.recipient ? `${summary.recipient.firstName} ${summary.recipient.lastName}` : "unknown";
  const text =
    `${alarm.type.toUpperCase()} alarm (${alarm.severity}) for ${who}, ${alarm.department_name}. ` +
    `Raised ${alarm.raised_at.toISOString()}. ${deps.config.PUBLIC_URL}/alarms/${alarm.id}`;
  return {
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
}

async function endpointSecret(deps: ApiDeps, endpointId: string | null): Promise<string | null> {
  if (!endpointId) return null;
  const { rows } = await deps.pool.query<{ secret: string | null }>(
    "SELECT secret FROM alert_endpoints WHERE id = $1",
    [endpointId],
  );
  return rows[0]?.secret ?? null;
}

/** The `deliver` job: sends, records the attempt, and throws on a failure worth retrying. */
export async function deliver(
  deps: ApiDeps,
  p: DeliverPayload,
  helpers: JobHelpers,
  httpTimeoutMs: number,
): Promise<void> {
  const attempt = helpers.job.attempts;
  const last = attempt >= helpers.job.max_attempts;
  const content = p.alarmId
    ? await alarmContent(deps, { ...p, alarmId: p.alarmId })
    : pingContent(p.idempotencyKey);
  if (!content) return;
  if ("closed" in content) {
    await recordDelivery(deps.pool, deps.metrics, {
      ...p,
      result: "skipped",
      attempt,
      detail: `alarm ${content.closed}`,
    });
    return;
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
  const secret = await endpointSecret(deps, p.endpointId);
  try {
    const detail = await sendOnChannel(deps, p, content, { secret, timeoutMs: httpTimeoutMs });
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

/** Sends a test message to an endpoint and records it; answers when it is sent or failed once. */
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
    const detail = await sendOnChannel(deps, p, pingContent(p.idempotencyKey), {
      secret: endpoint.secret,
      timeoutMs: 10_000,
    });
    await recordDelivery(deps.pool, deps.metrics, { ...p, result: "sent", detail });
    return { ok: true, detail };
  } catch (err) {
    const refused = refusalOf(err);
    const detail = refused ? refused.message : describeFailure(err);
    await recordDelivery(deps.pool, deps.metrics, { ...p, result: refused ? "refused" : "failed", detail });
    return { ok: false, detail };
  }
}
