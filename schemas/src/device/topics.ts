/**
 * MQTT topics, per device: `vakt/v1/d/<serial>/<direction>/<kind>`.
 * A device's broker credentials allow publishing under its own `up/#` and
 * subscribing to its own `down/#`, nothing else.
 */
import { deviceSerial } from "../common";

export const TOPIC_ROOT = "vakt/v1/d";

export const uplinkKinds = ["position", "status", "alarm"] as const;
export type UplinkKind = (typeof uplinkKinds)[number];
export const downlinkKinds = ["config", "ack", "command"] as const;
export type DownlinkKind = (typeof downlinkKinds)[number];

export const uplinkTopic = (serial: string, kind: UplinkKind) => `${TOPIC_ROOT}/${serial}/up/${kind}`;
export const downlinkTopic = (serial: string, kind: DownlinkKind) => `${TOPIC_ROOT}/${serial}/down/${kind}`;

/**
 * What the ingest service subscribes to; `$share` lets several ingest processes split the load.
 * Everything a device may publish (`up/#`), so a topic outside the contract becomes a dead letter
 * instead of being acknowledged by the broker and dropped for want of a subscriber.
 */
export const ingestSubscription = (group = "vakt-ingest") => `$share/${group}/${TOPIC_ROOT}/+/up/#`;

/** Topic filters a device may use: its ACL. */
export const deviceAcl = (serial: string) => ({
  publish: `${TOPIC_ROOT}/${serial}/up/#`,
  subscribe: `${TOPIC_ROOT}/${serial}/down/#`,
});

export type ParsedTopic =
  | { ok: true; serial: string; direction: "up"; kind: UplinkKind }
  | { ok: true; serial: string; direction: "down"; kind: DownlinkKind }
  | { ok: false; reason: "unknown_topic" };

export function parseDeviceTopic(topic: string): ParsedTopic {
  const parts = topic.split("/");
  if (parts.length !== 6 || `${parts[0]}/${parts[1]}/${parts[2]}` !== TOPIC_ROOT) {
    return { ok: false, reason: "unknown_topic" };
  }
  const [, , , serial = "", direction, kind] = parts;
  if (!deviceSerial.safeParse(serial).success) return { ok: false, reason: "unknown_topic" };
  if (direction === "up" && (uplinkKinds as readonly string[]).includes(kind ?? "")) {
    return { ok: true, serial, direction, kind: kind as UplinkKind };
  }
  if (direction === "down" && (downlinkKinds as readonly string[]).includes(kind ?? "")) {
    return { ok: true, serial, direction, kind: kind as DownlinkKind };
  }
  return { ok: false, reason: "unknown_topic" };
}
