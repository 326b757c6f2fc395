/** What a simulated device (device.ts) puts out: uplinks to publish and notes on what happened. */
import type { AckMessage, CommandMessage, DeviceAlarmType, DownlinkKind, UplinkKind } from "@vakt/schemas";
import type { MalformedKind } from "./malformed";

export interface Uplink {
  kind: UplinkKind;
  payload: string;
  /** The message id, when the payload is a valid message. */
  id?: string;
  alarmType?: DeviceAlarmType;
  malformed?: MalformedKind;
  /** A second publication of an already published message (same id). */
  redelivery?: boolean;
}

export type Note =
  | { type: "ack"; ackOf: string; status: AckMessage["status"]; first: boolean; latencyMs: number }
  | { type: "ack_unknown"; ackOf: string }
  | { type: "config_applied"; version: number }
  | { type: "command"; command: CommandMessage["command"]; id: string }
  | { type: "duplicate_command"; id: string }
  | { type: "invalid_downlink"; kind: DownlinkKind; reason: string }
  | { type: "silent"; untilMs: number }
  | { type: "power_off" }
  | { type: "power_on" };

export interface Output {
  uplinks: Uplink[];
  notes: Note[];
}

/** Scripted events (see scenario.ts), already resolved to milliseconds. */
export type DeviceEvent =
  | { event: "sos" }
  | { event: "fall"; cancelAfterMs?: number }
  | { event: "walk_to"; lat: number; lon: number; stayForMs?: number }
  | { event: "wander"; distanceM?: number }
  | { event: "go_home" }
  | { event: "silence"; forMs: number }
  | { event: "battery"; pct: number; charging?: boolean }
  | { event: "malformed"; kind: MalformedKind }
  | { event: "redeliver" }
  | { event: "skew"; ms: number }
  | { event: "position" }
  | { event: "status" };

export function emptyOutput(): Output {
  return { uplinks: [], notes: [] };
}

export function merge(into: Output, from: Output) {
  into.uplinks.push(...from.uplinks);
  into.notes.push(...from.notes);
}
