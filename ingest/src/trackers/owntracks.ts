/**
 * OwnTracks (`owntracks/<user>/<device>`) into the same decisions as the Vakt
 * contract: `location` and `transition` (also on `.../event`, where the apps
 * publish it) become positions, `lwt` marks the device offline. The device
 * segment is the Vakt serial; the message id is derived from the type and
 * `tst`, so a redelivery stores nothing twice. The other subtopics the apps
 * publish (`owntracks/<user>/<device>/<sub>`) are counted and ignored
 * (`owntracksRoute`), never a dead letter each.
 */
import {
  checkDeviceTime,
  deviceSerial,
  type OwntracksMessage,
  type OwntracksSubtopic,
  owntracksMessage,
  parseOwntracksTopic,
} from "@vakt/schemas";
import {
  type DeadLetterReason,
  type Decision,
  type DeviceLookup,
  type DeviceRef,
  deadLetter,
  type PositionRow,
  type TransitionRow,
} from "../pipeline/decide";
import { parseDeviceJson, storableHeading, storableReal, unstorableTextPath } from "../pipeline/storable";

/** `owntracks/<user>/<device>` and every subtopic below it. */
export const OWNTRACKS_SUBSCRIPTIONS = ["owntracks/+/+", "owntracks/+/+/+"] as const;

export type OwntracksRoute =
  /** Decide it (`owntracksDecision`); `serial` is the device segment when it is a valid serial. */
  | { kind: "decide"; serial: string | undefined }
  /** A subtopic Vakt does not use, or a stale retained last will: count it, acknowledge it, store nothing. */
  | { kind: "ignore"; sub: OwntracksSubtopic | "lwt (retained)" | "empty" };

/**
 * What to do with a message on an OwnTracks topic, before any device look-up. A last will the broker
 * kept retained (the app's retain setting) and hands to a new subscription is not news: the app may
 * have been back for days, so it is ignored rather than marking the device offline.
 */
export function owntracksRoute(topic: string, payload?: Uint8Array, retained = false): OwntracksRoute {
  const t = parseOwntracksTopic(topic);
  if (t?.sub !== undefined && t.sub !== "event") return { kind: "ignore", sub: t.sub };
  // Zero bytes: someone cleared a retained message (the broker forwards the clearing), not the app.
  if (t !== undefined && payload?.byteLength === 0) return { kind: "ignore", sub: "empty" };
  if (retained && t !== undefined && t.sub === undefined && payload !== undefined && isLwt(payload)) {
    return { kind: "ignore", sub: "lwt (retained)" };
  }
  // Only a valid serial is looked up: anything else is a dead letter at once, never a look-up retried.
  const serial = t && deviceSerial.safeParse(t.device).success ? t.device : undefined;
  return { kind: "decide", serial };
}

const KMH_TO_MPS = 1 / 3.6;

function isLwt(payload: Uint8Array): boolean {
  try {
    const json: unknown = JSON.parse(Buffer.from(payload).toString("utf8"));
    return typeof json === "object" && json !== null && (json as { _type?: unknown })._type === "lwt";
  } catch {
    return false;
  }
}

type Located = Exclude<OwntracksMessage, { _type: "lwt" }>;

/** A location or transition as a position row: speed km/h to m/s, course, altitude and battery from a location only. */
function positionOf(m: Located, device: DeviceRef, t: number, messageId: string): PositionRow {
  return {
    time: t,
    deviceId: device.id,
    organisationId: device.organisationId,
    recipientId: device.recipientId,
    messageId,
    lat: m.lat,
    lon: m.lon,
    accuracyM: storableReal(m.acc),
    speedMps: m._type === "location" && m.vel !== undefined ? storableReal(m.vel * KMH_TO_MPS) : null,
    headingDeg: m._type === "location" && m.cog !== undefined ? storableHeading(m.cog % 360) : null,
    altitudeM: m._type === "location" ? storableReal(m.alt) : null,
    source: "gps",
    batteryPct: m._type === "location" ? (m.batt ?? null) : null,
  };
}

/** A region transition the app reports (enter or leave one of its own regions). */
function transitionOf(
  m: Extract<OwntracksMessage, { _type: "transition" }>,
  device: DeviceRef,
  t: number,
  messageId: string,
  position: PositionRow,
): TransitionRow {
  return {
    time: t,
    deviceId: device.id,
    organisationId: device.organisationId,
    recipientId: device.recipientId,
    messageId,
    event: m.event,
    regionDesc: m.desc ?? null,
    regionId: m.rid ?? null,
    // When the app made the region: kept when it is a time a device could mean, else unknown.
    regionTime:
      m.wtst === undefined || checkDeviceTime(m.wtst * 1000, t) !== undefined ? null : m.wtst * 1000,
    trigger: m.t ?? null,
    lat: m.lat,
    lon: m.lon,
    accuracyM: position.accuracyM,
  };
}

export function owntracksDecision(
  topic: string,
  payload: Uint8Array,
  now: number,
  lookup: DeviceLookup,
  maxPayloadBytes: number,
): Decision {
  const parsedTopic = parseOwntracksTopic(topic);
  const validSerial = parsedTopic !== undefined && deviceSerial.safeParse(parsedTopic.device).success;
  const device = parsedTopic && validSerial ? lookup(parsedTopic.device) : undefined;
  const reject = (reason: DeadLetterReason, detail: string | null = null) =>
    deadLetter({ now, transport: "mqtt", topic, payload, device, reason, detail });
  if (payload.byteLength > maxPayloadBytes)
    return reject("payload_too_large", `${payload.byteLength} bytes > ${maxPayloadBytes}`);
  if (!parsedTopic || (parsedTopic.sub !== undefined && parsedTopic.sub !== "event")) {
    return reject("unknown_topic", "expected owntracks/<user>/<serial> or owntracks/<user>/<serial>/event");
  }
  if (!validSerial) return reject("unknown_topic", "the device segment of the topic is not a valid serial");
  if (!device) return reject("unknown_device", `serial ${parsedTopic.device}`);
  const text = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString("utf8");
  const parsed = parseDeviceJson(text);
  if (!parsed.ok) return reject("invalid_json", parsed.detail);
  const json = parsed.value;
  const unstorableAt = unstorableTextPath(text, json);
  if (unstorableAt !== null) {
    return reject("unstorable_text", `${unstorableAt}: NUL or a lone surrogate cannot be stored`);
  }
  const r = owntracksMessage.safeParse(json);
  if (!r.success) {
    return reject(
      "invalid_message",
      r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "),
    );
  }
  const m: OwntracksMessage = r.data;
  if (parsedTopic.sub === "event" && m._type !== "transition") {
    return reject("invalid_message", `_type: ${m._type} on .../event, expected transition`);
  }
  const t = m.tst * 1000;
  const problem = checkDeviceTime(t, now);
  if (problem) return reject(problem === "before_2000" ? "timestamp_before_2000" : "timestamp_in_future");
  const messageId = `ot-${m._type}-${m.tst}`;
  const raw = {
    time: t,
    deviceId: device.id,
    organisationId: device.organisationId,
    topic,
    messageId,
    kind: `owntracks_${m._type}`,
    payloadText: text,
  };
  const base = { kind: "store" as const, device, status: null, alarm: null, raw };
  if (m._type === "lwt") {
    return {
      ...base,
      uplink: "status",
      positions: [],
      seen: { at: 0, online: false, batteryPct: null, charging: null, reportedConfig: null },
    };
  }
  const position = positionOf(m, device, t, messageId);
  const charging = m._type === "location" && m.bs !== undefined && m.bs !== 0 ? m.bs >= 2 : null;
  const transition = m._type === "transition" ? transitionOf(m, device, t, messageId, position) : undefined;
  return {
    ...base,
    ...(transition ? { transition } : {}),
    uplink: "position",
    positions: [position],
    seen: { at: now, online: true, batteryPct: position.batteryPct, charging, reportedConfig: null },
  };
}
