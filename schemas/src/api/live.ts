/**
 * Live updates over socket.io (path `/socket.io`, same origin as the API).
 *
 * Authentication: the session cookie (browser), or `auth: { token: "<API token>" }`
 * in the handshake. A socket receives only what its grants allow, and stops
 * receiving within seconds of a grant being withdrawn; when its session ends it
 * gets `session:ended` and is disconnected.
 *
 * Positions are sent only for recipients the socket watches (`watch:positions`);
 * starting and ending a watch is recorded in the activity log.
 */
import { z } from "zod";
import { alarmSummary } from "./alarms";

export const LIVE_PATH = "/socket.io";

export const liveEvents = {
  /** server -> client */
  alarmNew: "alarm:new",
  alarmChanged: "alarm:changed",
  position: "position",
  deviceChanged: "device:changed",
  sessionEnded: "session:ended",
  /** server -> client: alert routing's console channel, addressed to a user. */
  alarmAlert: "alarm:alert",
  /** client -> server */
  watchPositions: "watch:positions",
  unwatchPositions: "unwatch:positions",
} as const;

export const liveAuth = z.object({ token: z.string().min(1).max(512).optional() });

export const liveAlarmNew = alarmSummary;
export const liveAlarmChanged = alarmSummary.extend({
  /** The transition that caused this event. */
  change: z.string(),
});

export const livePosition = z.object({
  recipientId: z.uuid(),
  deviceId: z.uuid(),
  departmentId: z.uuid(),
  time: z.iso.datetime(),
  lat: z.number(),
  lon: z.number(),
  accuracyM: z.number().nullable(),
  speedMps: z.number().nullable(),
  headingDeg: z.number().nullable(),
  source: z.string(),
  batteryPercent: z.number().nullable(),
});
export type LivePosition = z.infer<typeof livePosition>;

export const liveDeviceChanged = z.object({
  deviceId: z.uuid(),
  recipientId: z.uuid().nullable(),
  departmentId: z.uuid(),
  online: z.boolean(),
  batteryPercent: z.number().nullable(),
  charging: z.boolean().nullable(),
  lastSeenAt: z.iso.datetime().nullable(),
  trackingUntil: z.iso.datetime().nullable(),
});
export type LiveDeviceChanged = z.infer<typeof liveDeviceChanged>;

export const liveSessionEnded = z.object({
  reason: z.enum(["revoked", "expired", "logged_out", "user_disabled", "token_revoked"]),
});

export const liveAlarmAlert = z.object({
  alarm: alarmSummary,
  /** Escalation step (1-based) or null for a reminder. */
  step: z.number().int().nullable(),
  message: z.string(),
  /** Everyone this step (or reminder) asks on the console, so each of them sees who else is asked. */
  asked: z
    .array(z.object({ id: z.uuid(), name: z.string() }))
    .max(500)
    .default([]),
});
export type LiveAlarmAlert = z.infer<typeof liveAlarmAlert>;

/** client -> server; answered through the acknowledgement callback with `liveWatchResult`. */
export const liveWatchPositions = z.object({
  /** Omitted or "all": every recipient the socket may see. */
  recipientIds: z.union([z.array(z.uuid()).min(1).max(5000), z.literal("all")]).optional(),
});
export type LiveWatchPositions = z.infer<typeof liveWatchPositions>;
export const liveWatchResult = z.union([
  z.object({ ok: z.literal(true), recipientIds: z.union([z.array(z.uuid()), z.literal("all")]) }),
  z.object({ ok: z.literal(false), error: z.string() }),
]);

export interface ServerToClientEvents {
  "alarm:new": (alarm: z.infer<typeof liveAlarmNew>) => void;
  "alarm:changed": (alarm: z.infer<typeof liveAlarmChanged>) => void;
  position: (position: LivePosition) => void;
  "device:changed": (device: LiveDeviceChanged) => void;
  "session:ended": (info: z.infer<typeof liveSessionEnded>) => void;
  "alarm:alert": (alert: z.infer<typeof liveAlarmAlert>) => void;
}
export interface ClientToServerEvents {
  "watch:positions": (
    request: LiveWatchPositions,
    ack?: (result: z.infer<typeof liveWatchResult>) => void,
  ) => void;
  "unwatch:positions": (ack?: (result: { ok: true }) => void) => void;
}
