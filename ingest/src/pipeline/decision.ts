/**
 * What a decision is (decide.ts makes them): rows to store for a device (positions, status, the raw
 * message, an alarm, what the device row learns), or one dead letter with its reason.
 */
import type { DeviceAlarmType, Fix, ParsedTopic, StatusMessage, UplinkKind } from "@vakt/schemas";

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
  /** The JSON text as received, logged as it is (device_messages.payload_text). */
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

/** A geofence enter or leave (OwnTracks `transition`): device_transitions, see ./transitions. */
export interface TransitionRow {
  time: number;
  deviceId: string;
  organisationId: string;
  recipientId: string | null;
  messageId: string;
  event: "enter" | "leave";
  regionDesc: string | null;
  regionId: string | null;
  regionTime: number | null;
  trigger: string | null;
  lat: number;
  lon: number;
  accuracyM: number | null;
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
  /** Only OwnTracks sends them. */
  transition?: TransitionRow;
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

/**
 * What a decision carries of the message into its batch's statements (what the batch's byte bound
 * counts): the raw log's text, or a dead letter's kept bytes and excerpt. Text is counted in UTF-16
 * units, not encoded bytes (at most three times as many): a bound, not an account.
 */
export function bytesOf(decision: Decision): number {
  return decision.kind === "store"
    ? decision.raw.payloadText.length
    : decision.row.payload.byteLength + decision.row.payloadExcerpt.length;
}
