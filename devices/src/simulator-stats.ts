/** What the simulator counts while it runs, and the summary it reports (`stats()`, the CLI's output). */
import type { DeviceAlarmType } from "@vakt/schemas";
import type { Logger } from "pino";
import type { Note, Uplink } from "./device";

export interface SimulatorStats {
  devices: number;
  connected: number;
  /** Most devices connected at once during the run. */
  connectedPeak: number;
  /** Clock time since start. */
  elapsedMs: number;
  sent: {
    total: number;
    position: number;
    status: number;
    alarm: number;
    redelivered: number;
    malformed: number;
  };
  /** Publications the broker confirmed (PUBACK). */
  confirmed: number;
  alarms: { sent: number; acked: number; byType: Partial<Record<DeviceAlarmType | "fall_cancel", number>> };
  acks: {
    received: number;
    unknown: number;
    latencyP50Ms: number | undefined;
    latencyMaxMs: number | undefined;
  };
  downlink: { config: number; ack: number; command: number; invalid: number; duplicateCommands: number };
  configsApplied: number;
  commands: { locate: number; track: number; stop_tracking: number };
  silences: number;
  powerOffs: number;
  errors: { connection: number; publish: number; total: number };
  reconnects: number;
}

export type Counters = ReturnType<typeof newCounters>;

export function newCounters() {
  return {
    sent: { total: 0, position: 0, status: 0, alarm: 0, redelivered: 0, malformed: 0 },
    confirmed: 0,
    alarmsSent: 0,
    alarmsAcked: 0,
    byType: {} as Partial<Record<DeviceAlarmType | "fall_cancel", number>>,
    acks: 0,
    unknownAcks: 0,
    latencies: [] as number[],
    downlink: { config: 0, ack: 0, command: 0, invalid: 0, duplicateCommands: 0 },
    configsApplied: 0,
    commands: { locate: 0, track: 0, stop_tracking: 0 },
    silences: 0,
    powerOffs: 0,
    connectionErrors: 0,
    publishErrors: 0,
    reconnects: 0,
    connectedNow: 0,
    connectedPeak: 0,
  };
}

/** Counts an uplink about to be published; for a new alarm, returns its type (`fall_cancel` for a cancel). */
export function countUplink(counters: Counters, uplink: Uplink): DeviceAlarmType | "fall_cancel" | undefined {
  counters.sent.total++;
  counters.sent[uplink.kind]++;
  if (uplink.redelivery) counters.sent.redelivered++;
  if (uplink.malformed) counters.sent.malformed++;
  if (!uplink.alarmType || uplink.redelivery || uplink.malformed) return undefined;
  const parsed = JSON.parse(uplink.payload) as { cancels?: string };
  const key = parsed.cancels ? "fall_cancel" : uplink.alarmType;
  counters.byType[key] = (counters.byType[key] ?? 0) + 1;
  counters.alarmsSent++;
  return key;
}

/** Counts and logs what a device noted. */
export function countNote(counters: Counters, logger: Logger, n: Note) {
  switch (n.type) {
    case "ack":
      counters.acks++;
      if (n.first) {
        counters.alarmsAcked++;
        counters.latencies.push(n.latencyMs);
      }
      logger.info({ ackOf: n.ackOf, status: n.status, latencyMs: n.latencyMs }, "alarm acknowledged");
      break;
    case "ack_unknown":
      counters.unknownAcks++;
      logger.warn({ ackOf: n.ackOf }, "ack of an alarm this device did not send");
      break;
    case "config_applied":
      counters.configsApplied++;
      logger.info({ version: n.version }, "configuration applied");
      break;
    case "command":
      counters.commands[n.command]++;
      logger.info({ command: n.command, id: n.id }, "command");
      break;
    case "duplicate_command":
      counters.downlink.duplicateCommands++;
      logger.debug({ id: n.id }, "duplicate command ignored");
      break;
    case "invalid_downlink":
      counters.downlink.invalid++;
      logger.warn({ kind: n.kind, reason: n.reason }, "invalid downlink message");
      break;
    case "silent":
      counters.silences++;
      logger.debug({ untilMs: n.untilMs }, "going silent");
      break;
    case "power_off":
      counters.powerOffs++;
      logger.info("battery flat: powered off");
      break;
    case "power_on":
      logger.info("charging: powered on");
      break;
  }
}

function percentile(sorted: number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

export function statsOf(counters: Counters, devices: number, elapsedMs: number): SimulatorStats {
  const sorted = [...counters.latencies].sort((a, b) => a - b);
  return {
    devices,
    connected: counters.connectedNow,
    connectedPeak: counters.connectedPeak,
    elapsedMs,
    sent: { ...counters.sent },
    confirmed: counters.confirmed,
    alarms: { sent: counters.alarmsSent, acked: counters.alarmsAcked, byType: { ...counters.byType } },
    acks: {
      received: counters.acks,
      unknown: counters.unknownAcks,
      latencyP50Ms: percentile(sorted, 0.5),
      latencyMaxMs: sorted.at(-1),
    },
    downlink: { ...counters.downlink },
    configsApplied: counters.configsApplied,
    commands: { ...counters.commands },
    silences: counters.silences,
    powerOffs: counters.powerOffs,
    errors: {
      connection: counters.connectionErrors,
      publish: counters.publishErrors,
      total: counters.connectionErrors + counters.publishErrors + counters.downlink.invalid,
    },
    reconnects: counters.reconnects,
  };
}
