/**
 * The device contract, version 1: what a device publishes (uplink) and what the
 * platform publishes to it (downlink). Topics are in ./topics.ts.
 *
 * Units are in the field names: M metres, Mps metres per second, Deg degrees
 * (0-360, clockwise from north), Pct percent, S seconds, and `t` is epoch
 * milliseconds (UTC) as measured by the device.
 */
import { z } from "zod";
import { epochMs, latitude, longitude, messageId, percent } from "../common";

export const positionSource = z.enum(["gps", "wifi", "cell", "other"]);

export const fix = z.strictObject({
  t: epochMs,
  lat: latitude,
  lon: longitude,
  accM: z.number().min(0).max(100_000).optional().describe("horizontal accuracy radius, metres"),
  speedMps: z.number().min(0).max(350).optional().describe("ground speed, m/s"),
  headingDeg: z.number().min(0).lt(360).optional().describe("course over ground, degrees from north"),
  altM: z.number().min(-1_000).max(20_000).optional().describe("altitude above sea level, metres"),
  source: positionSource.default("gps"),
  batteryPct: percent.optional(),
});
export type Fix = z.infer<typeof fix>;

const uplinkBase = { v: z.literal(1), id: messageId };

/** One fix, or a batch of up to 100 (a device that was offline sends what it buffered). */
export const positionMessage = z.union([
  z.strictObject({ ...uplinkBase, fix }),
  z.strictObject({ ...uplinkBase, fixes: z.array(fix).min(1).max(100) }),
]);
export type PositionMessage = z.infer<typeof positionMessage>;

export function fixesOf(message: PositionMessage): Fix[] {
  return "fix" in message ? [message.fix] : message.fixes;
}

export const fallSensitivity = z.enum(["off", "low", "medium", "high"]);

/** Settings the platform wants the device to run with. */
export const deviceSettings = z.strictObject({
  reportIntervalS: z.number().int().min(10).max(86_400).describe("position interval while tracking, seconds"),
  heartbeatIntervalS: z.number().int().min(60).max(86_400).describe("status interval, seconds"),
  trackingEnabled: z
    .boolean()
    .describe("report positions continuously; otherwise only on alarms and requests"),
  fallDetection: fallSensitivity,
  lowBatteryPct: percent,
  alarmNumber: z
    .string()
    .regex(/^\+[1-9][0-9]{6,14}$/, "E.164, e.g. +4712345678")
    .optional(),
});
export type DeviceSettings = z.infer<typeof deviceSettings>;

export const defaultDeviceSettings: DeviceSettings = {
  reportIntervalS: 120,
  heartbeatIntervalS: 900,
  trackingEnabled: false,
  fallDetection: "medium",
  lowBatteryPct: 20,
};

export const statusMessage = z.strictObject({
  ...uplinkBase,
  t: epochMs,
  batteryPct: percent.optional(),
  charging: z.boolean().optional(),
  signalDbm: z.number().int().min(-150).max(0).optional(),
  firmware: z.string().max(64).optional(),
  /** The configuration the device runs, echoing the version it applied. */
  reportedConfig: z.strictObject({ version: z.number().int().min(1), settings: deviceSettings }).optional(),
  /**
   * Only in the device's MQTT last will (`t` its connect time): the broker sends it when the
   * connection dies, and the device is offline (no_contact after INGEST_LAST_WILL_GRACE_S).
   */
  online: z.literal(false).optional(),
});
export type StatusMessage = z.infer<typeof statusMessage>;

/** Alarms a device raises itself; geofence, battery and contact alarms are derived by the platform. */
export const deviceAlarmType = z.enum(["sos", "fall", "power_off", "out_of_bed", "no_movement", "other"]);
export type DeviceAlarmType = z.infer<typeof deviceAlarmType>;

export const alarmMessage = z.strictObject({
  ...uplinkBase,
  t: epochMs,
  type: deviceAlarmType,
  fix: fix.optional(),
  batteryPct: percent.optional(),
  /** A fall alarm the wearer cancelled within the device's window: the id of that alarm. */
  cancels: messageId.optional(),
});
export type AlarmMessage = z.infer<typeof alarmMessage>;

/** Downlink, retained: the desired configuration. The device echoes `version` once applied. */
export const configMessage = z.strictObject({
  v: z.literal(1),
  version: z.number().int().min(1),
  settings: deviceSettings,
});
export type ConfigMessage = z.infer<typeof configMessage>;

/** Downlink: the platform confirms an uplink alarm (the device tells its wearer help is coming). */
export const ackMessage = z.strictObject({
  v: z.literal(1),
  ackOf: messageId,
  status: z.enum(["received", "taken", "resolved", "cancelled"]),
  alarmId: z.uuid(),
  at: epochMs,
});
export type AckMessage = z.infer<typeof ackMessage>;

/** Downlink: ask for a position now, or start/stop tracking until a time. */
export const commandMessage = z.discriminatedUnion("command", [
  z.strictObject({ v: z.literal(1), id: messageId, command: z.literal("locate") }),
  z.strictObject({ v: z.literal(1), id: messageId, command: z.literal("track"), untilMs: epochMs }),
  z.strictObject({ v: z.literal(1), id: messageId, command: z.literal("stop_tracking") }),
]);
export type CommandMessage = z.infer<typeof commandMessage>;
