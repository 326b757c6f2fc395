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
  type Fix,
  fixesOf,
  parseDeviceTopic,
  positionMessage,
  type StatusMessage,
  statusMessage,
  TOPIC_ROOT,
  type UplinkKind,
  uplinkKinds,
} from "@vakt/schemas";
import type { z } from "zod";
import { deadLetter, serialOfDeviceTopic } from "./dead-letter-rows";
import {
  type DeadLetterDecision,
  type DeadLetterReason,
  type DecideOptions,
  type Decision,
  type DeviceLookup,
  type DeviceRef,
  deviceAlarmSeverity,
  type PositionRow,
  type RawMessageRow,
  type StoreDecision,
  type Transport,
} from "./decision";
import { fastPositionMessage } from "./fast-position";
import { parseDeviceJson, storableHeading, storableReal, unstorableTextPath } from "./storable";

export * from "./dead-letter-rows";
export * from "./decision";

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
    accuracyM: storableReal(f.accM),
    speedMps: storableReal(f.speedMps),
    headingDeg: storableHeading(f.headingDeg),
    altitudeM: storableReal(f.altM),
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
  const decideKind =
    kind === "position" ? positionDecision : kind === "status" ? statusDecision : alarmDecision;
  return decideKind(device, topic, kind, message, payloadText, now);
}

/** Every fix a position row; the newest one's battery is what the device row learns. */
function positionDecision(
  device: DeviceRef,
  topic: string,
  kind: UplinkKind,
  message: UplinkMessage,
  payloadText: string,
  now: number,
): StoreDecision {
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

/** A status row, or for `online: false` (a last will) only the raw message and "went away". */
function statusDecision(
  device: DeviceRef,
  topic: string,
  kind: UplinkKind,
  message: UplinkMessage,
  payloadText: string,
  now: number,
): StoreDecision {
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

/** The device's alarm, with its fix as a position when it has one. */
function alarmDecision(
  device: DeviceRef,
  topic: string,
  kind: UplinkKind,
  message: UplinkMessage,
  payloadText: string,
  now: number,
): StoreDecision {
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
