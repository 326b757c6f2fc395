/**
 * What a simulated device keeps about its downlink: the parsing (invalid messages are noted, never
 * acted on), its alarms awaiting an acknowledgement, and the commands it has already run.
 */
import {
  type AckMessage,
  ackMessage,
  type CommandMessage,
  type ConfigMessage,
  commandMessage,
  configMessage,
  type DownlinkKind,
} from "@vakt/schemas";
import type { Note } from "./device-output";

export type ParsedDownlink =
  | { ok: true; kind: "config"; message: ConfigMessage }
  | { ok: true; kind: "ack"; message: AckMessage }
  | { ok: true; kind: "command"; message: CommandMessage }
  | { ok: false; reason: string };

export function parseDownlink(kind: DownlinkKind, payload: string): ParsedDownlink {
  let json: unknown;
  try {
    json = JSON.parse(payload);
  } catch {
    return { ok: false, reason: "invalid JSON" };
  }
  const schema = { config: configMessage, ack: ackMessage, command: commandMessage }[kind];
  const parsed = schema.safeParse(json);
  if (!parsed.success) return { ok: false, reason: parsed.error.issues[0]?.message ?? "invalid" };
  return { ok: true, kind, message: parsed.data } as ParsedDownlink;
}

/** Alarms sent, for end-to-end confirmation: which got an ack, and how long it took. */
export class AlarmLedger {
  private readonly sent = new Map<string, { sentAtMs: number; acked: boolean }>();

  /** A first publication of an alarm (a redelivery keeps the first time). */
  sentAt(id: string, nowMs: number) {
    if (!this.sent.has(id)) this.sent.set(id, { sentAtMs: nowMs, acked: false });
  }

  ack(ack: AckMessage, nowMs: number): Note {
    const alarm = this.sent.get(ack.ackOf);
    if (!alarm) return { type: "ack_unknown", ackOf: ack.ackOf };
    const first = !alarm.acked;
    alarm.acked = true;
    return { type: "ack", ackOf: ack.ackOf, status: ack.status, first, latencyMs: nowMs - alarm.sentAtMs };
  }

  unacked(): string[] {
    return [...this.sent].filter(([, a]) => !a.acked).map(([id]) => id);
  }
}

const SEEN_COMMANDS = 64;

/** The last command ids run, so that a redelivered command is not run twice. */
export class SeenCommands {
  private readonly ids: string[] = [];

  /** True when `id` was seen before; otherwise remembers it. */
  repeat(id: string): boolean {
    if (this.ids.includes(id)) return true;
    this.ids.push(id);
    if (this.ids.length > SEEN_COMMANDS) this.ids.shift();
    return false;
  }
}
