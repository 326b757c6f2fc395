/**
 * Everything the platform sends to a device, whichever process sends it: the api (configuration,
 * commands, the acks of staff's transitions, OwnTracks commands) and ingest (the "received" ack of a
 * device alarm). One builder per message gives its topic, QoS, retain flag and payload, the payload
 * parsed against its schema, so a malformed downlink fails at the sender and never reaches a device.
 *
 * It lives in schemas, beside the messages and topics it combines, because both processes import
 * schemas and neither imports the other; the contract is pure (no MQTT), and each process keeps only
 * its own connection, handing a `Downlink` to it (api/src/devices/commands.ts, ingest's MqttConsumer).
 * ARCHITECTURE.md ("Downlinks") has the table of who sends what.
 */
import { type OwntracksCommand, owntracksCommand, owntracksCommandTopic } from "../trackers/owntracks";
import {
  type AckMessage,
  ackMessage,
  type CommandMessage,
  type ConfigMessage,
  commandMessage,
  configMessage,
  type DeviceSettings,
} from "./messages";
import { downlinkTopic } from "./topics";

/** Where an OwnTracks app publishes: `owntracks/<user>/<device>`. */
export interface OwntracksApp {
  user: string;
  device: string;
}

/** What a downlink is, in the transactions log (device_messages.kind). */
export const downlinkLogKinds = ["config", "command", "ack", "owntracks_command"] as const;

/** One message for one device, ready for any MQTT client's publish. */
export interface Downlink {
  /** The device it is for (an OwnTracks app's device segment is its Vakt serial). */
  serial: string;
  /** What it is, for the transactions log. */
  kind: (typeof downlinkLogKinds)[number];
  /** What it names or answers: a command's id, the alarm message an ack confirms; null for none. */
  messageId: string | null;
  topic: string;
  payload: string;
  /** Every downlink is QoS 1: a device that is away gets it from its persistent session. */
  qos: 1;
  /** Only the configuration is retained: a device that (re)subscribes gets the newest at once. */
  retain: boolean;
}

/** The configuration message: built here and nowhere else. */
export const configMessageOf = (version: number, settings: DeviceSettings): ConfigMessage =>
  configMessage.parse({ v: 1, version, settings });

export const downlinks = {
  /** The desired configuration, retained; the device echoes `version` in its status once applied. */
  config: (serial: string, version: number, settings: DeviceSettings): Downlink => ({
    serial,
    kind: "config",
    messageId: null,
    topic: downlinkTopic(serial, "config"),
    payload: JSON.stringify(configMessageOf(version, settings)),
    qos: 1,
    retain: true,
  }),
  /** locate, track, stop_tracking. Not retained: a stale command must not run on the next connect. */
  command: (serial: string, message: CommandMessage): Downlink => ({
    serial,
    kind: "command",
    messageId: message.id,
    topic: downlinkTopic(serial, "command"),
    payload: JSON.stringify(commandMessage.parse(message)),
    qos: 1,
    retain: false,
  }),
  /** The platform confirms an alarm (received by ingest; taken, resolved, cancelled by the api). */
  ack: (serial: string, message: AckMessage): Downlink => ({
    serial,
    kind: "ack",
    messageId: message.ackOf,
    topic: downlinkTopic(serial, "ack"),
    payload: JSON.stringify(ackMessage.parse(message)),
    qos: 1,
    retain: false,
  }),
  /**
   * A command to an OwnTracks app, on its own `owntracks/<user>/<device>/cmd` topic; the user segment
   * is the one the app last published under (the app chooses it), the device is the Vakt serial.
   */
  owntracks: (app: OwntracksApp, message: OwntracksCommand): Downlink => ({
    serial: app.device,
    kind: "owntracks_command",
    messageId: null,
    topic: owntracksCommandTopic(app.user, app.device),
    payload: JSON.stringify(owntracksCommand.parse(message)),
    qos: 1,
    retain: false,
  }),
} as const;

/** What a process's MQTT connection offers: publish one downlink (resolves once the broker has it). */
export type SendDownlink = (downlink: Downlink) => Promise<void>;

/** The downlinks the api sends, by meaning; `deviceCommandPublisher` makes one over any connection. */
export interface DeviceCommandPublisher {
  /** The desired configuration, retained, on the device's config topic. */
  publishConfig(serial: string, version: number, settings: DeviceSettings): Promise<void>;
  /** A command (locate, track, stop_tracking) on the device's command topic. */
  publishCommand(serial: string, message: CommandMessage): Promise<void>;
  /** Confirm an alarm to the device (taken, resolved, cancelled) on its ack topic. */
  publishAck(serial: string, message: AckMessage): Promise<void>;
  /** A command to an OwnTracks app on its own `owntracks/<user>/<serial>/cmd` topic. */
  publishOwntracksCommand(app: OwntracksApp, message: OwntracksCommand): Promise<void>;
}

export function deviceCommandPublisher(send: SendDownlink): DeviceCommandPublisher {
  return {
    publishConfig: (serial, version, settings) => send(downlinks.config(serial, version, settings)),
    publishCommand: (serial, message) => send(downlinks.command(serial, message)),
    publishAck: (serial, message) => send(downlinks.ack(serial, message)),
    publishOwntracksCommand: (app, message) => send(downlinks.owntracks(app, message)),
  };
}
