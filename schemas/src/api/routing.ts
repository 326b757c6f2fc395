/**
 * Alert routing (issue 5): endpoints (webhook, e-mail address, SMS number) and
 * rules per department with a schedule and ordered escalation steps.
 */
import { z } from "zod";
import { roleKey } from "./admin";
import { alarmSeverity, alarmType, notificationChannel } from "./alarms";

const hhmm = z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$/, "HH:MM");

export const endpointKind = z.enum(["webhook", "email", "sms"]);
export const alertEndpoint = z.object({
  id: z.uuid(),
  departmentId: z.uuid(),
  name: z.string(),
  kind: endpointKind,
  /** URL (webhook), e-mail address, or E.164 phone number. */
  target: z.string(),
  enabled: z.boolean(),
  /** Webhooks: whether a signing secret is set (the secret is shown only when created). */
  signed: z.boolean(),
});
export type AlertEndpoint = z.infer<typeof alertEndpoint>;
const endpointFields = {
  departmentId: z.uuid(),
  name: z.string().trim().min(1).max(200),
  enabled: z.boolean().optional(),
};
export const alertEndpointCreate = z.discriminatedUnion("kind", [
  z.object({ ...endpointFields, kind: z.literal("webhook"), target: z.url({ protocol: /^https?$/ }) }),
  z.object({ ...endpointFields, kind: z.literal("email"), target: z.email() }),
  z.object({
    ...endpointFields,
    kind: z.literal("sms"),
    target: z.string().regex(/^\+[1-9][0-9]{6,14}$/, "E.164, e.g. +4712345678"),
  }),
]);
export const alertEndpointCreated = alertEndpoint.extend({
  /** Webhooks only, shown once: the HMAC-SHA256 key for `X-Vakt-Signature`. */
  secret: z.string().nullable(),
});
export const alertEndpointUpdate = z
  .object({
    name: z.string().trim().min(1).max(200),
    target: z.string().min(1).max(2000),
    enabled: z.boolean(),
  })
  .partial();
export const endpointPingResult = z.object({
  ok: z.boolean(),
  channel: notificationChannel,
  target: z.string(),
  detail: z.string().nullable(),
});

/** GET /alert-targets: who a rule of this department may alert. */
export const alertTargetsQuery = z.object({ departmentId: z.uuid() });
/**
 * Who can be named in a step of a rule for the department: the roles that can see and take
 * alarms, and the active users whose grants give them alarm:read and alarm:acknowledge there
 * (decided by the API's policy). Anyone else is refused when the rule is saved.
 */
export const alertTargets = z.object({
  departmentId: z.uuid(),
  roles: z.array(roleKey),
  users: z.array(z.object({ id: z.uuid(), firstName: z.string(), lastName: z.string() })),
});
export type AlertTargets = z.infer<typeof alertTargets>;
/**
 * The problem member (on a 400) of a rule that names someone who cannot act on its alarms:
 * the users (by name) and roles, so the console can say it in words.
 */
export const targetsCannotAct = z.object({
  users: z.array(z.object({ id: z.uuid(), name: z.string() })),
  roles: z.array(roleKey),
});
export type TargetsCannotAct = z.infer<typeof targetsCannotAct>;

export const scheduleWindow = z.object({
  /** ISO weekdays, 1 = Monday … 7 = Sunday. */
  days: z.array(z.number().int().min(1).max(7)).min(1).max(7),
  start: hhmm,
  /** Exclusive; an end before the start runs past midnight. */
  end: hhmm,
});
export const escalationStep = z.object({
  /** How long to wait for someone to take the alarm before the next step runs. */
  waitS: z.number().int().min(1).max(86_400),
  users: z.array(z.uuid()).max(100).default([]),
  /** Everyone holding this role with a grant covering the alarm's department. */
  roles: z.array(roleKey).max(5).default([]),
  /** How users (and roles) are told. Endpoints use their own kind. */
  channels: z
    .array(notificationChannel.exclude(["webhook"]))
    .max(3)
    .default(["console"]),
  endpointIds: z.array(z.uuid()).max(20).default([]),
});
export type EscalationStep = z.infer<typeof escalationStep>;

export const alertRule = z.object({
  id: z.uuid(),
  departmentId: z.uuid(),
  name: z.string(),
  /** null: every type / severity. */
  alarmTypes: z.array(alarmType).nullable(),
  severities: z.array(alarmSeverity).nullable(),
  /** null: always; otherwise the windows (organisation time zone) in which the rule applies. */
  schedule: z.array(scheduleWindow).nullable(),
  steps: z.array(escalationStep),
  /** After the last step, repeat it every this many seconds while nobody has taken the alarm. */
  reminderIntervalS: z.number().int().nullable(),
  maxReminders: z.number().int(),
  /**
   * Seconds after an alarm is raised in which it can be cancelled before routing starts;
   * null: the default (30 s for fall, none for other types).
   */
  cancelWindowS: z.number().int().nullable(),
  enabled: z.boolean(),
});
export type AlertRule = z.infer<typeof alertRule>;
export const alertRuleCreate = z.object({
  departmentId: z.uuid(),
  name: z.string().trim().min(1).max(200),
  alarmTypes: z.array(alarmType).min(1).nullable().default(null),
  severities: z.array(alarmSeverity).min(1).nullable().default(null),
  schedule: z.array(scheduleWindow).min(1).max(20).nullable().default(null),
  steps: z.array(escalationStep).min(1).max(10),
  reminderIntervalS: z.number().int().min(30).max(86_400).nullable().default(null),
  maxReminders: z.number().int().min(0).max(100).default(0),
  cancelWindowS: z.number().int().min(0).max(600).nullable().default(null),
  enabled: z.boolean().default(true),
});
export const alertRuleUpdate = z
  .object({
    name: z.string().trim().min(1).max(200),
    alarmTypes: z.array(alarmType).min(1).nullable(),
    severities: z.array(alarmSeverity).min(1).nullable(),
    schedule: z.array(scheduleWindow).min(1).max(20).nullable(),
    steps: z.array(escalationStep).min(1).max(10),
    reminderIntervalS: z.number().int().min(30).max(86_400).nullable(),
    maxReminders: z.number().int().min(0).max(100),
    cancelWindowS: z.number().int().min(0).max(600).nullable(),
    enabled: z.boolean(),
  })
  .partial();
