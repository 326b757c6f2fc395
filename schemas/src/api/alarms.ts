/**
 * Alarms over the HTTP API (issue 5): the DTO the console shows, the list
 * filters, the bodies of each transition and the 409 a second taker gets.
 * The same `alarmSummary` is the payload of the socket.io events in ./live.ts.
 */
import { z } from "zod";
import { instant } from "../common";
import { problem } from "./problem";

export const alarmType = z.enum([
  "sos",
  "fall",
  "geofence_exit",
  "geofence_enter",
  "low_battery",
  "no_contact",
  "no_movement",
  "power_off",
  "out_of_bed",
  "outdated_position",
  "other",
]);
export type AlarmType = z.infer<typeof alarmType>;
export const alarmSeverity = z.enum(["critical", "high", "medium", "low"]);
export type AlarmSeverity = z.infer<typeof alarmSeverity>;
export const alarmState = z.enum(["open", "acknowledged", "resolved", "cancelled"]);
export type AlarmState = z.infer<typeof alarmState>;
export const alarmSource = z.enum(["device", "platform"]);

/** How an alarm ended; `false_alarm` is what a cancel records. */
export const alarmOutcome = z.enum([
  "helped_on_site",
  "resolved_by_phone",
  "emergency_services",
  "no_help_needed",
  "technical_fault",
  "false_alarm",
  "other",
]);
export type AlarmOutcome = z.infer<typeof alarmOutcome>;

export const alarmTransitionKind = z.enum([
  "raised",
  "acknowledged",
  "commented",
  "resolved",
  "cancelled",
  "reopened",
  "cleared",
  "escalated",
  "notified",
  "device_confirmed",
  /** A call to someone on the recipient's call list, with its result (details.contactId, details.result). */
  "called",
]);

/** Who did something: a staff user (with display name), an API token, or the platform itself. */
export const alarmActor = z.object({
  type: z.enum(["user", "api_token", "system"]),
  id: z.uuid().nullable(),
  /** "First Last" for users, the token's name for tokens, null for the system. */
  name: z.string().nullable(),
});
export type AlarmActor = z.infer<typeof alarmActor>;

export const alarmTransition = z.object({
  id: z.number().int(),
  at: z.iso.datetime(),
  kind: alarmTransitionKind,
  fromState: alarmState.nullable(),
  toState: alarmState.nullable(),
  actor: alarmActor,
  note: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
});
export type AlarmTransition = z.infer<typeof alarmTransition>;

/** One attempt to tell someone about an alarm on one channel (alert routing). */
export const notificationChannel = z.enum(["console", "email", "webhook", "sms"]);
export type NotificationChannel = z.infer<typeof notificationChannel>;
export const alarmDelivery = z.object({
  id: z.uuid(),
  at: z.iso.datetime(),
  /** Escalation step number (1-based), null for a test message or a reminder outside the steps. */
  step: z.number().int().nullable(),
  channel: notificationChannel,
  /** E-mail address, phone number, URL or user id, as sent to. */
  target: z.string(),
  result: z.enum(["sent", "failed", "retrying", "skipped", "refused"]),
  attempt: z.number().int(),
  detail: z.string().nullable(),
  /** The staff user's name when the target is one (console deliveries, skipped ones). */
  targetName: z.string().nullable().default(null),
  /**
   * Why it was skipped: `no_phone` (SMS, none stored), `phone_not_e164` (SMS, a stored number that is
   * not valid E.164, to be corrected under users), `cannot_act` (the user cannot see and take it).
   */
  reason: z.enum(["no_phone", "phone_not_e164", "cannot_act"]).nullable().default(null),
});
export type AlarmDelivery = z.infer<typeof alarmDelivery>;

export const alarmPosition = z.object({
  lat: z.number(),
  lon: z.number(),
  accuracyM: z.number().nullable(),
});

/** One alarm as listed and as pushed live. */
export const alarmSummary = z.object({
  id: z.uuid(),
  type: alarmType,
  severity: alarmSeverity,
  state: alarmState,
  source: alarmSource,
  raisedAt: z.iso.datetime(),
  receivedAt: z.iso.datetime(),
  /** A pseudonymous API token sees a pseudonym as id and no names. */
  recipient: z
    .object({ id: z.string(), firstName: z.string().nullable(), lastName: z.string().nullable() })
    .nullable(),
  department: z.object({ id: z.uuid(), name: z.string() }),
  device: z.object({
    /** A pseudonym (not a uuid) when read with a pseudonymous API token. */
    id: z.string(),
    /** null for pseudonymous API tokens: a serial names the device as surely as its id. */
    serial: z.string().nullable(),
    model: z.string(),
    batteryPercent: z.number().nullable(),
    online: z.boolean(),
    /** While set and in the future, the device reports continuously (started by the alarm). */
    trackingUntil: z.iso.datetime().nullable(),
  }),
  /** Position at the time of the alarm, when the device sent one. */
  position: alarmPosition.nullable(),
  /** Who took it (acknowledged): set while acknowledged, kept once resolved. */
  assignee: z.object({ id: z.uuid(), name: z.string() }).nullable(),
  acknowledgedAt: z.iso.datetime().nullable(),
  closedAt: z.iso.datetime().nullable(),
  outcome: alarmOutcome.nullable(),
  /**
   * While set, the open alarm is in its cancel window: nobody is alerted before this instant,
   * and a cancel from the device or staff ends it with no alerts sent.
   */
  cancelWindowUntil: z.iso.datetime().nullable(),
  details: z.record(z.string(), z.unknown()),
});
export type AlarmSummary = z.infer<typeof alarmSummary>;

/**
 * The alarm's cancel window on its timeline, derived from routing and the transitions: when it
 * opened (nobody alerted yet) and how it ended. `ended.how`: `routed` (it ran out with the alarm
 * open, so routing started), `cancelled_on_device` (the wearer cancelled), `cancelled`, `taken`
 * or `resolved` by staff (`actor` names who).
 */
export const alarmCancelWindow = z.object({
  openedAt: z.iso.datetime(),
  /** Its length as the rule gave it, from the wearer's alarm to its end. */
  seconds: z.number().int(),
  endsAt: z.iso.datetime(),
  /** null while it is still running. */
  ended: z
    .object({
      at: z.iso.datetime(),
      how: z.enum(["routed", "cancelled_on_device", "cancelled", "taken", "resolved"]),
      actor: alarmActor.nullable(),
    })
    .nullable(),
});
export type AlarmCancelWindow = z.infer<typeof alarmCancelWindow>;

/** One alarm opened: with every transition and every notification attempt, oldest first. */
export const alarmDetail = alarmSummary.extend({
  responderNotes: z.string().nullable(),
  transitions: z.array(alarmTransition),
  deliveries: z.array(alarmDelivery),
  /** null: the alarm had no cancel window. */
  cancelWindow: alarmCancelWindow.nullable().default(null),
});
export type AlarmDetail = z.infer<typeof alarmDetail>;

/** `a,b` or repeated parameters both work in a query string. */
function listOf<T extends z.ZodType>(item: T) {
  return z.preprocess((v) => {
    if (v === undefined) return undefined;
    const arr = Array.isArray(v) ? v : [v];
    return arr.flatMap((s) => (typeof s === "string" ? s.split(",").filter(Boolean) : [s]));
  }, z.array(item).min(1).max(20).optional());
}

export const alarmListQuery = z.object({
  state: listOf(alarmState),
  type: listOf(alarmType),
  severity: listOf(alarmSeverity),
  /** How closed alarms ended (the console's alarm history). */
  outcome: listOf(alarmOutcome),
  /** Includes the department's sub-departments. */
  departmentId: z.uuid().optional(),
  recipientId: z.uuid().optional(),
  /** Raised at or after. */
  from: instant().optional(),
  /** Raised before. */
  to: instant().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  /** Paging: the `nextCursor` of the previous page. */
  cursor: z.string().max(200).optional(),
});
export type AlarmListQuery = z.infer<typeof alarmListQuery>;

export const alarmList = z.object({
  items: z.array(alarmSummary),
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: z.string().nullable(),
});
export type AlarmList = z.infer<typeof alarmList>;

const note = z.string().trim().min(1).max(4000);

/** POST /alarms/{id}/take: acknowledge and assign to the caller. */
export const alarmTakeBody = z.object({ note: note.optional() });
/** POST /alarms/{id}/comments */
export const alarmCommentBody = z.object({ note });
/** POST /alarms/{id}/resolve */
export const alarmResolveBody = z.object({ outcome: alarmOutcome.exclude(["false_alarm"]), note });
/** POST /alarms/{id}/cancel: a false alarm. */
export const alarmCancelBody = z.object({ note: note.optional() });
/** POST /alarms/{id}/reopen */
export const alarmReopenBody = z.object({ note });
export type AlarmTakeBody = z.infer<typeof alarmTakeBody>;
export type AlarmCommentBody = z.infer<typeof alarmCommentBody>;
export type AlarmResolveBody = z.infer<typeof alarmResolveBody>;
export type AlarmCancelBody = z.infer<typeof alarmCancelBody>;
export type AlarmReopenBody = z.infer<typeof alarmReopenBody>;

/** POST /alarms/{id}/locate and POST /devices/{id}/locate: asks the device for a position now. */
export const locateResult = z.object({ deviceId: z.uuid(), commandId: z.string(), sentAt: z.iso.datetime() });

/**
 * 409 when the alarm is no longer in a state the transition needs (someone took
 * it first, it was resolved meanwhile): who holds it and since when.
 */
export const alarmConflict = problem.extend({
  alarmId: z.uuid(),
  state: alarmState,
  holder: z.object({ id: z.uuid(), name: z.string() }).nullable(),
  since: z.iso.datetime().nullable(),
});
export type AlarmConflict = z.infer<typeof alarmConflict>;
