/** Sending one message on one channel: e-mail (the mailer), SMS (an HTTP gateway) or a signed webhook. */
import { createHmac } from "node:crypto";
import { isE164 } from "@vakt/schemas";
import type { ApiDeps } from "../deps";
import { type OutboundHttp, outboundOf } from "../outbound";

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

export interface MessageContent {
  subject: string;
  text: string;
  json: unknown;
}

/** HMAC-SHA256 over `<timestamp>.<body>`, hex: what `X-Vakt-Signature` carries after `sha256=`. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
}

/** Sends one message on one channel; throws when it did not go out. */
export async function sendOnChannel(
  deps: ApiDeps,
  p: DeliverPayload,
  content: MessageContent,
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

/** fetch's "fetch failed" says nothing; its cause says what went wrong (refused connection, timeout). */
export function describeFailure(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const cause = (err as { cause?: unknown })?.cause;
  return cause instanceof Error && cause.message && message === "fetch failed"
    ? `${message}: ${cause.message}`
    : message;
}
