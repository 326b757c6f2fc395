/** Dead-letter rows: the one place a dead letter is built, its bounded excerpt, bytes and hash. */
import { createHash } from "node:crypto";
import { deviceSerial, TOPIC_ROOT } from "@vakt/schemas";
import {
  DEAD_LETTER_EXCERPT_BYTES,
  DEAD_LETTER_PAYLOAD_BYTES,
  type DeadLetterDecision,
  type DeadLetterReason,
  type DeadLetterRow,
  type DeviceRef,
  type StoreDecision,
  type Transport,
} from "./decision";
import { storableText } from "./storable";

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
