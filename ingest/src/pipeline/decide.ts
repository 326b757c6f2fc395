/**
 * What to do with one uplink message: a pure function of the topic, the
 * payload bytes, the clock and a synchronous device look-up. It touches no
 * broker and no database, so every rule about bad input is tested without
 * either (decide.test.ts); the consumer turns decisions into rows.
 */
import {
  type AlarmMessage,
  alarmMessage,
  checkDeviceTime,
  type DeviceAlarmType,
  type Fix,
  fixesOf,
  parseDeviceTopic,
  positionMessage,
  type StatusMessage,
  statusMessage,
  type UplinkKind,
} from "@vakt/schemas";
import type { z } from "zod";

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
  "storage_rejected",
] as const;
export type DeadLetterReason = (typeof deadLetterReasons)[number];

/** How much of a rejected payload is kept. */
export const DEAD_LETTER_EXCERPT_BYTES = 2_048;

export interface DeadLetterRow {
  receivedAt: number;
  transport: Transport;
  topic: string;
  organisationId: string | null;
  deviceId: string | null;
  reason: DeadLetterReason;
  detail: string | null;
  payloadExcerpt: string;
  payloadBytes: number;
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
  const transport = options.transport ?? "mqtt";
  const parsedTopic = parseDeviceTopic(topic);
  const device = parsedTopic.ok ? lookup(parsedTopic.serial) : undefined;
  const reject = (reason: DeadLetterReason, detail: string | null = null): DeadLetterDecision =>
    deadLetter({ now, transport, topic, payload, device, reason, detail });

  if (payload.byteLength > options.maxPayloadBytes) {
    return reject("payload_too_large", `${payload.byteLength} bytes > ${options.maxPayloadBytes}`);
  }
  if (!parsedTopic.ok || parsedTopic.direction !== "up") return reject("unknown_topic");
  if (!device) return reject("unknown_device", `serial ${parsedTopic.serial}`);

  const text = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString("utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return reject("invalid_json", err instanceof Error ? err.message : null);
  }

  const build = (message: UplinkMessage, kind: UplinkKind): Decision => {
    const times = deviceTimesOf(message, kind);
    for (const t of times) {
      const problem = checkDeviceTime(t, now);
      if (problem) return reject(problem === "before_2000" ? "timestamp_before_2000" : "timestamp_in_future");
    }
    return storeDecision(device, topic, kind, message, text, now);
  };

  switch (parsedTopic.kind) {
    case "position": {
      const r = positionMessage.safeParse(json);
      return r.success ? build(r.data, "position") : reject(...classify(r.error));
    }
    case "status": {
      const r = statusMessage.safeParse(json);
      return r.success ? build(r.data, "status") : reject(...classify(r.error));
    }
    case "alarm": {
      const r = alarmMessage.safeParse(json);
      return r.success ? build(r.data, "alarm") : reject(...classify(r.error));
    }
  }
}

type UplinkMessage = z.infer<typeof positionMessage> | StatusMessage | AlarmMessage;

function deviceTimesOf(message: UplinkMessage, kind: UplinkKind): number[] {
  if (kind === "position") return fixesOf(message as z.infer<typeof positionMessage>).map((f) => f.t);
  const m = message as StatusMessage | AlarmMessage;
  const times = [m.t];
  if ("fix" in m && m.fix) times.push(m.fix.t);
  return times;
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

function storeDecision(
  device: DeviceRef,
  topic: string,
  kind: UplinkKind,
  message: UplinkMessage,
  payloadText: string,
  now: number,
): StoreDecision {
  const base = { kind: "store" as const, device, uplink: kind, status: null, alarm: null };
  const raw = (time: number): RawMessageRow => ({
    time,
    deviceId: device.id,
    organisationId: device.organisationId,
    topic,
    messageId: message.id,
    kind,
    payloadText,
  });
  if (kind === "position") {
    const fixes = fixesOf(message as z.infer<typeof positionMessage>);
    const positions = fixes.map((f) => positionRow(device, message.id, f));
    const latest = fixes.reduce((a, b) => (b.t > a.t ? b : a));
    return {
      ...base,
      positions,
      raw: raw(latest.t),
      seen: {
        at: now,
        online: true,
        batteryPct: latest.batteryPct ?? null,
        charging: null,
        reportedConfig: null,
      },
    };
  }
  if (kind === "status") {
    const m = message as StatusMessage;
    return {
      ...base,
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
      raw: raw(m.t),
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
    ...base,
    positions: m.fix ? [positionRow(device, m.id, m.fix)] : [],
    alarm: {
      messageId: m.id,
      type: m.type,
      severity: deviceAlarmSeverity[m.type],
      raisedAt: m.t,
      fix: m.fix ?? null,
      batteryPct: m.batteryPct ?? m.fix?.batteryPct ?? null,
      cancels: m.cancels ?? null,
    },
    raw: raw(m.t),
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
  return Buffer.from(slice.buffer, slice.byteOffset, slice.byteLength)
    .toString("utf8")
    .replace(/\u0000/g, "\uFFFD");
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
      topic: input.topic.slice(0, 512),
      organisationId: input.device?.organisationId ?? null,
      deviceId: input.device?.id ?? null,
      reason: input.reason,
      detail: input.detail?.slice(0, 1_000) ?? null,
      payloadExcerpt: payloadExcerpt(input.payload),
      payloadBytes: input.payload.byteLength,
    },
  };
}
