/**
 * What to do with one uplink message: a pure function of the topic, the
 * payload bytes, the clock and a synchronous device look-up. It touches no
 * broker and no database, so every rule about bad input is tested without
 * either (decide.test.ts); the consumer turns decisions into rows.
 */

import { createHash } from "node:crypto";
import {
  type AlarmMessage,
  alarmMessage,
  checkDeviceTime,
  type DeviceAlarmType,
  deviceSerial,
  type Fix,
  fixesOf,
  type ParsedTopic,
  parseDeviceTopic,
  positionMessage,
  type StatusMessage,
  statusMessage,
  TOPIC_ROOT,
  type UplinkKind,
  uplinkKinds,
} from "@vakt/schemas";
import type { z } from "zod";
import { fastPositionMessage } from "./fast-position";
import { parseDeviceJson, storableText, unstorableTextPath } from "./storable";

/** What ingest needs to know about a device, cached by serial. */
export interface DeviceRef {
  id: string;
  serial: string;
  organisationId: string;
  departmentId: string;
  recipientId: string | null;
}

/** Synchronous: the caller resolves the serial (from cache or database) first. */
export type DeviceLookup = (serial: string) => DeviceRef | undefined;

export type Transport = "mqtt" | "http";

export const deadLetterReasons = [
  "payload_too_large",
  "invalid_json",
  "invalid_message",
  "timestamp_before_2000",
  "timestamp_in_future",
  "unknown_topic",
  "unknown_device",
  /** A string in the JSON PostgreSQL cannot hold (NUL, a lone surrogate). */
  "unstorable_text",
  /** A native message id this device used before, for other content. */
  "conflicting_message_id",
  /** A fix at a time this device already has a different fix for. */
  "conflicting_fix",
  "storage_rejected",
  /** Kept failing to store while other messages were stored (not an outage): isolated and kept. */
  "storage_failed",
  /** Handling it threw inside ingest. */
  "ingest_error",
  /** The broker kept redelivering it (ingest died handling it each time). */
  "redelivery_limit",
] as const;
export type DeadLetterReason = (typeof deadLetterReasons)[number];

/** How much of a rejected payload is shown as text. */
export const DEAD_LETTER_EXCERPT_BYTES = 2_048;
/** How much of a rejected payload is kept as bytes (the default INGEST_MAX_PAYLOAD_BYTES). */
export const DEAD_LETTER_PAYLOAD_BYTES = 65_536;

export interface DeadLetterRow {
  receivedAt: number;
  transport: Transport;
  topic: string;
  organisationId: string | null;
  deviceId: string | null;
  reason: DeadLetterReason;
  detail: string | null;
  payloadExcerpt: string;
  /** What arrived, as bytes, the first DEAD_LETTER_PAYLOAD_BYTES of it. */
  payload: Buffer;
  payloadBytes: number;
  /** Of the whole payload: a redelivery of a dead letter already stored is recognised by it. */
  payloadSha256: string;
  /** The broker marked the message as sent before (MQTT DUP): it may be stored already. */
  redelivered?: boolean;
}

export interface PositionRow {
  time: number;
  deviceId: string;
  organisationId: string;
  recipientId: string | null;
  messageId: string;
  lat: number;
  lon: number;
  accuracyM: number | null;
  speedMps: number | null;
  headingDeg: number | null;
  altitudeM: number | null;
  source: Fix["source"];
  batteryPct: number | null;
}

export interface StatusRow {
  time: number;
  deviceId: string;
  organisationId: string;
  messageId: string;
  batteryPct: number | null;
  charging: boolean | null;
  signalDbm: number | null;
  firmware: string | null;
  reportedConfig: StatusMessage["reportedConfig"] | null;
}

/** The raw uplink log (device_messages). */
export interface RawMessageRow {
  time: number;
  deviceId: string;
  organisationId: string;
  topic: string;
  messageId: string;
  kind: string;
  /** The JSON text as received (stored as jsonb). */
  payloadText: string;
}

export interface DeviceAlarm {
  messageId: string;
  type: DeviceAlarmType;
  severity: AlarmSeverity;
  raisedAt: number;
  fix: Fix | null;
  batteryPct: number | null;
  /** The id of an earlier alarm message the wearer cancelled. */
  cancels: string | null;
}

export type AlarmSeverity = "critical" | "high" | "medium" | "low";

/** What the device said about itself: folded into the devices row. */
export interface DeviceSeen {
  /** When it was heard from; 0 for a message that says it went away (a last will). */
  at: number;
  online: boolean;
  batteryPct: number | null;
  charging: boolean | null;
  reportedConfig: StatusMessage["reportedConfig"] | null;
}

export interface StoreDecision {
  kind: "store";
  device: DeviceRef;
  uplink: UplinkKind;
  positions: PositionRow[];
  status: StatusRow | null;
  alarm: DeviceAlarm | null;
  raw: RawMessageRow;
  seen: DeviceSeen;
}

export interface DeadLetterDecision {
  kind: "dead_letter";
  row: DeadLetterRow;
}

export type Decision = StoreDecision | DeadLetterDecision;

export interface DecideOptions {
  maxPayloadBytes: number;
  transport?: Transport;
  /** `parseDeviceTopic(topic)`, when the caller has it already. */
  parsedTopic?: ParsedTopic;
}

export const deviceAlarmSeverity: Record<DeviceAlarmType, AlarmSeverity> = {
  sos: "critical",
  fall: "critical",
  out_of_bed: "high",
  no_movement: "high",
  power_off: "medium",
  other: "medium",
};

/** Rows a decision adds to a batch (what INGEST_BATCH_MAX_ROWS counts). */
export function rowsOf(decision: Decision): number {
  return decision.kind === "store" ? decision.positions.length + 1 : 1;
}

export function decide(
  topic: string,
  payload: Uint8Array,
  now: number,
  lookup: DeviceLookup,
  options: DecideOptions,
): Decision {
  // No closures here: this runs for every message (and the TypeScript loader names each closure it makes).
  const transport = options.transport ?? "mqtt";
  const parsedTopic = options.parsedTopic ?? parseDeviceTopic(topic);
  const serial = parsedTopic.ok ? parsedTopic.serial : serialOfDeviceTopic(topic);
  const device = serial !== undefined ? lookup(serial) : undefined;
  const at = { now, transport, topic, payload, device };

  if (payload.byteLength > options.maxPayloadBytes) {
    return reject(at, "payload_too_large", `${payload.byteLength} bytes > ${options.maxPayloadBytes}`);
  }
  if (!parsedTopic.ok || parsedTopic.direction !== "up") {
    return reject(at, "unknown_topic", `expected ${TOPIC_ROOT}/<serial>/up/<${uplinkKinds.join("|")}>`);
  }
  if (!device) return reject(at, "unknown_device", `serial ${parsedTopic.serial}`);

  const text = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString("utf8");
  const parsed = parseDeviceJson(text);
  if (!parsed.ok) return reject(at, "invalid_json", parsed.detail);
  const json = parsed.value;
  const unstorableAt = unstorableTextPath(text, json);
  if (unstorableAt !== null) {
    return reject(at, "unstorable_text", `${unstorableAt}: NUL or a lone surrogate cannot be stored`);
  }

  let message: UplinkMessage;
  switch (parsedTopic.kind) {
    case "position": {
      const fast = fastPositionMessage(json);
      if (fast) {
        message = fast;
        break;
      }
      const r = positionMessage.safeParse(json);
      if (!r.success) return reject(at, ...classify(r.error));
      message = r.data;
      break;
    }
    case "status": {
      const r = statusMessage.safeParse(json);
      if (!r.success) return reject(at, ...classify(r.error));
      message = r.data;
      break;
    }
    case "alarm": {
      const r = alarmMessage.safeParse(json);
      if (!r.success) return reject(at, ...classify(r.error));
      message = r.data;
      break;
    }
  }
  const problem = deviceTimeProblem(message, parsedTopic.kind, now);
  if (problem) return reject(at, problem === "before_2000" ? "timestamp_before_2000" : "timestamp_in_future");
  return storeDecision(device, topic, parsedTopic.kind, message, text, now);
}

interface RejectContext {
  now: number;
  transport: Transport;
  topic: string;
  payload: Uint8Array;
  device: DeviceRef | undefined;
}

function reject(
  at: RejectContext,
  reason: DeadLetterReason,
  detail: string | null = null,
): DeadLetterDecision {
  return deadLetter({ ...at, reason, detail });
}

type UplinkMessage = z.infer<typeof positionMessage> | StatusMessage | AlarmMessage;

/** The first device time out of bounds, in the message's order (fixes; or `t`, then the fix). */
function deviceTimeProblem(message: UplinkMessage, kind: UplinkKind, now: number) {
  if (kind === "position") {
    for (const f of fixesOf(message as z.infer<typeof positionMessage>)) {
      const problem = checkDeviceTime(f.t, now);
      if (problem) return problem;
    }
    return undefined;
  }
  const m = message as StatusMessage | AlarmMessage;
  const problem = checkDeviceTime(m.t, now);
  if (problem) return problem;
  return "fix" in m && m.fix ? checkDeviceTime(m.fix.t, now) : undefined;
}

function positionRow(device: DeviceRef, messageId: string, f: Fix): PositionRow {
  return {
    time: f.t,
    deviceId: device.id,
    organisationId: device.organisationId,
    recipientId: device.recipientId,
    messageId,
    lat: f.lat,
    lon: f.lon,
    accuracyM: f.accM ?? null,
    speedMps: f.speedMps ?? null,
    headingDeg: f.headingDeg ?? null,
    altitudeM: f.altM ?? null,
    source: f.source,
    batteryPct: f.batteryPct ?? null,
  };
}

function rawRow(
  device: DeviceRef,
  topic: string,
  kind: UplinkKind,
  messageId: string,
  payloadText: string,
  time: number,
): RawMessageRow {
  return {
    time,
    deviceId: device.id,
    organisationId: device.organisationId,
    topic,
    messageId,
    kind,
    payloadText,
  };
}

function storeDecision(
  device: DeviceRef,
  topic: string,
  kind: UplinkKind,
  message: UplinkMessage,
  payloadText: string,
  now: number,
): StoreDecision {
  if (kind === "position") {
    const m = message as z.infer<typeof positionMessage>;
    const positions: PositionRow[] = [];
    let latest: Fix | undefined;
    if ("fix" in m) {
      latest = m.fix;
      positions.push(positionRow(device, m.id, m.fix));
    } else {
      for (const f of m.fixes) {
        positions.push(positionRow(device, m.id, f));
        if (latest === undefined || f.t > latest.t) latest = f;
      }
    }
    const newest = latest as Fix;
    return {
      kind: "store",
      device,
      uplink: kind,
      positions,
      status: null,
      alarm: null,
      raw: rawRow(device, topic, kind, m.id, payloadText, newest.t),
      seen: {
        at: now,
        online: true,
        batteryPct: newest.batteryPct ?? null,
        charging: null,
        reportedConfig: null,
      },
    };
  }
  if (kind === "status") {
    const m = message as StatusMessage;
    if (m.online === false) {
      // A last will: the device went away. Kept in the raw log; last seen stays where it was.
      return {
        kind: "store",
        device,
        uplink: kind,
        positions: [],
        status: null,
        alarm: null,
        raw: rawRow(device, topic, kind, m.id, payloadText, m.t),
        seen: { at: 0, online: false, batteryPct: null, charging: null, reportedConfig: null },
      };
    }
    return {
      kind: "store",
      device,
      uplink: kind,
      positions: [],
      status: {
        time: m.t,
        deviceId: device.id,
        organisationId: device.organisationId,
        messageId: m.id,
        batteryPct: m.batteryPct ?? null,
        charging: m.charging ?? null,
        signalDbm: m.signalDbm ?? null,
        firmware: m.firmware ?? null,
        reportedConfig: m.reportedConfig ?? null,
      },
      alarm: null,
      raw: rawRow(device, topic, kind, m.id, payloadText, m.t),
      seen: {
        at: now,
        online: true,
        batteryPct: m.batteryPct ?? null,
        charging: m.charging ?? null,
        reportedConfig: m.reportedConfig ?? null,
      },
    };
  }
  const m = message as AlarmMessage;
  return {
    kind: "store",
    device,
    uplink: kind,
    positions: m.fix ? [positionRow(device, m.id, m.fix)] : [],
    status: null,
    alarm: {
      messageId: m.id,
      type: m.type,
      severity: deviceAlarmSeverity[m.type],
      raisedAt: m.t,
      fix: m.fix ?? null,
      batteryPct: m.batteryPct ?? m.fix?.batteryPct ?? null,
      cancels: m.cancels ?? null,
    },
    raw: rawRow(device, topic, kind, m.id, payloadText, m.t),
    seen: {
      at: now,
      online: true,
      batteryPct: m.batteryPct ?? m.fix?.batteryPct ?? null,
      charging: null,
      reportedConfig: null,
    },
  };
}

/** A schema failure on a timestamp gets its own reason; anything else is `invalid_message`. */
function classify(error: z.ZodError): [DeadLetterReason, string] {
  const detail = error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)
    .join("; ");
  for (const issue of error.issues) {
    const last = issue.path[issue.path.length - 1];
    if (last === "t" && issue.code === "too_small") return ["timestamp_before_2000", detail];
    if (last === "t" && issue.code === "too_big") return ["timestamp_in_future", detail];
  }
  // A union (single fix or batch) reports its branches' issues nested; look inside.
  for (const issue of error.issues) {
    if (issue.code === "invalid_union") {
      for (const branch of issue.errors) {
        for (const inner of branch) {
          const last = inner.path[inner.path.length - 1];
          if (last === "t" && inner.code === "too_small") return ["timestamp_before_2000", detail];
          if (last === "t" && inner.code === "too_big") return ["timestamp_in_future", detail];
        }
      }
    }
  }
  return ["invalid_message", detail];
}

/** Keeps a bounded, storable excerpt of what arrived (PostgreSQL text holds no NUL). */
export function payloadExcerpt(payload: Uint8Array, maxBytes = DEAD_LETTER_EXCERPT_BYTES): string {
  const slice = payload.subarray(0, maxBytes);
  return storableText(Buffer.from(slice.buffer, slice.byteOffset, slice.byteLength).toString("utf8"));
}

/** The first DEAD_LETTER_PAYLOAD_BYTES of a payload, copied (the broker's buffer is not ours to keep). */
export function payloadBytes(payload: Uint8Array): Buffer {
  return Buffer.from(payload.subarray(0, DEAD_LETTER_PAYLOAD_BYTES));
}

/** The serial of a topic under the device root, whatever follows it (`vakt/v1/d/<serial>/...`). */
export function serialOfDeviceTopic(topic: string): string | undefined {
  if (!topic.startsWith(`${TOPIC_ROOT}/`)) return undefined;
  const serial = topic.slice(TOPIC_ROOT.length + 1).split("/", 1)[0] ?? "";
  return deviceSerial.safeParse(serial).success ? serial : undefined;
}

export function deadLetter(input: {
  now: number;
  transport: Transport;
  topic: string;
  payload: Uint8Array;
  device: DeviceRef | undefined;
  reason: DeadLetterReason;
  detail: string | null;
}): DeadLetterDecision {
  return {
    kind: "dead_letter",
    row: {
      receivedAt: input.now,
      transport: input.transport,
      topic: storableText(input.topic, 512),
      organisationId: input.device?.organisationId ?? null,
      deviceId: input.device?.id ?? null,
      reason: input.reason,
      detail: input.detail === null ? null : storableText(input.detail, 1_000),
      payloadExcerpt: payloadExcerpt(input.payload),
      payload: payloadBytes(input.payload),
      payloadBytes: input.payload.byteLength,
      payloadSha256: sha256Hex(input.payload),
    },
  };
}

/**
 * The dead letter of a message that was decided storable and then refused (a conflict with what is
 * stored, a storage data error, a redelivery limit): the one place such a row is built.
 */
export function deadLetterOfStored(
  s: StoreDecision,
  reason: DeadLetterReason,
  detail: string | null,
  receivedAt: number,
): DeadLetterRow {
  return deadLetter({
    now: receivedAt,
    // OsmAnd messages carry this pseudo topic (trackers/osmand.ts); everything else came over MQTT.
    transport: s.raw.topic === "osmand" ? "http" : "mqtt",
    topic: s.raw.topic,
    payload: Buffer.from(s.raw.payloadText, "utf8"),
    device: s.device,
    reason,
    detail,
  }).row;
}

export function sha256Hex(payload: Uint8Array): string {
  return createHash("sha256").update(payload).digest("hex");
}
