/**
 * OwnTracks (`owntracks/<user>/<device>`) into the same decisions as the Vakt
 * contract: `location` and `transition` become positions, `lwt` marks the
 * device offline. The device segment is the Vakt serial; the message id is
 * derived from the type and `tst`, so a redelivery stores nothing twice.
 */
import { checkDeviceTime, type OwntracksMessage, owntracksMessage, parseOwntracksTopic } from "@vakt/schemas";
import {
  type DeadLetterReason,
  type Decision,
  type DeviceLookup,
  deadLetter,
  type PositionRow,
} from "../pipeline/decide";
import { parseDeviceJson, unstorableTextPath } from "../pipeline/storable";

export const OWNTRACKS_SUBSCRIPTION = "owntracks/+/+";

const KMH_TO_MPS = 1 / 3.6;

export function owntracksDecision(
  topic: string,
  payload: Uint8Array,
  now: number,
  lookup: DeviceLookup,
  maxPayloadBytes: number,
): Decision {
  const parsedTopic = parseOwntracksTopic(topic);
  const device = parsedTopic ? lookup(parsedTopic.device) : undefined;
  const reject = (reason: DeadLetterReason, detail: string | null = null) =>
    deadLetter({ now, transport: "mqtt", topic, payload, device, reason, detail });
  if (payload.byteLength > maxPayloadBytes) return reject("payload_too_large");
  if (!parsedTopic) return reject("unknown_topic");
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
  const position: PositionRow = {
    time: t,
    deviceId: device.id,
    organisationId: device.organisationId,
    recipientId: device.recipientId,
    messageId,
    lat: m.lat,
    lon: m.lon,
    accuracyM: m.acc ?? null,
    speedMps: m._type === "location" && m.vel !== undefined ? m.vel * KMH_TO_MPS : null,
    headingDeg: m._type === "location" && m.cog !== undefined ? m.cog % 360 : null,
    altitudeM: m._type === "location" ? (m.alt ?? null) : null,
    source: "gps",
    batteryPct: m._type === "location" ? (m.batt ?? null) : null,
  };
  const charging = m._type === "location" && m.bs !== undefined && m.bs !== 0 ? m.bs >= 2 : null;
  return {
    ...base,
    uplink: "position",
    positions: [position],
    seen: { at: now, online: true, batteryPct: position.batteryPct, charging, reportedConfig: null },
  };
}
