/**
 * Privacy (issue 7): retention settings and runs, restriction, erasure, and the
 * recipient export (GDPR art. 15 and 20). The export schema is the documented
 * format: `recipientExport` here, rendered as JSON Schema in the OpenAPI document.
 */
import { z } from "zod";
import { instant } from "../common";
import { recipient } from "./admin";

/** Days each kind of data is kept; limits are checked again by the API against the table ceilings. */
export const retentionSettings = z.object({
  positionsDays: z.number().int().min(1).describe("positions; at most the positions table ceiling"),
  deviceStatusDays: z
    .number()
    .int()
    .min(1)
    .max(90)
    .describe("device status and diagnostics, at most 90 days"),
  deviceMessagesDays: z.number().int().min(1).max(90).describe("raw device messages, at most 90 days"),
  deadLettersDays: z.number().int().min(1).max(90).describe("rejected device messages, at most 90 days"),
  alarmsDays: z
    .number()
    .int()
    .min(365)
    .max(3653)
    .describe("closed alarms with their transitions (documentation), 1 to 10 years"),
  activityLogDays: z.number().int().min(730).max(3653).describe("the activity log, never below 2 years"),
});
export type RetentionSettings = z.infer<typeof retentionSettings>;

export const retentionSettingsView = retentionSettings.extend({
  /** Fixed: personal data of recipients and staff go this long after service or access ends. */
  recipientGraceMonths: z.literal(6),
  staffGraceMonths: z.literal(6),
  /** The ceilings of the time-series tables (days), enforced in bulk by the database. */
  ceilings: z.record(z.string(), z.number()),
  updatedAt: z.iso.datetime().nullable(),
});
export const retentionSettingsUpdate = retentionSettings.partial();

export const retentionRun = z.object({
  id: z.number().int(),
  asOf: z.iso.datetime(),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime().nullable(),
  status: z.enum(["running", "succeeded", "failed"]),
  trigger: z.enum(["schedule", "manual"]),
  /** Rows removed (or people erased) in the caller's organisation, by category. */
  counts: z.record(z.string(), z.number()),
});
export type RetentionRun = z.infer<typeof retentionRun>;

export const privacyReason = z.object({ reason: z.string().trim().min(3).max(500) });
export const reasonRequiredQuery = z.object({ reason: z.string().trim().min(3).max(500) });

export const restrictedRecipient = z.object({
  id: z.uuid(),
  departmentId: z.uuid(),
  restrictedAt: z.iso.datetime(),
});

export const erasureRecord = z.object({
  id: z.uuid(),
  subjectType: z.enum(["recipient", "staff_user"]),
  /** The erased row's former id: a pseudonym linking the kept alarms and activity-log rows. */
  subjectRef: z.uuid(),
  erasedAt: z.iso.datetime(),
  trigger: z.enum(["request", "retention"]),
  reason: z.string(),
  keptLegalBasis: z.string(),
  counts: z.record(z.string(), z.number()),
});
export type ErasureRecord = z.infer<typeof erasureRecord>;

export const exportQuery = z.object({
  /** Positions from (inclusive); default: 30 days before `to`. */
  from: instant().optional(),
  /** Positions to (exclusive); default: now. */
  to: instant().optional(),
  format: z.enum(["json", "zip"]).default("json"),
  /** Required to export a restricted recipient (organisation administrators only); logged. */
  reason: z.string().trim().min(3).max(500).optional(),
});

const exportPosition = z.object({
  time: z.iso.datetime(),
  deviceId: z.uuid(),
  lat: z.number(),
  lon: z.number(),
  accuracyM: z.number().nullable(),
  speedMps: z.number().nullable(),
  source: z.string(),
  batteryPercent: z.number().nullable(),
});
const exportTransition = z.object({
  at: z.iso.datetime(),
  kind: z.string(),
  fromState: z.string().nullable(),
  toState: z.string().nullable(),
  actorUserId: z.uuid().nullable(),
  actorTokenId: z.uuid().nullable(),
  note: z.string().nullable(),
  /** For a call (kind 'called'): which contact and how it went. */
  details: z.record(z.string(), z.unknown()),
});
const exportAlarm = z.object({
  id: z.uuid(),
  type: z.string(),
  severity: z.string(),
  state: z.string(),
  source: z.string(),
  raisedAt: z.iso.datetime(),
  receivedAt: z.iso.datetime(),
  lat: z.number().nullable(),
  lon: z.number().nullable(),
  acknowledgedAt: z.iso.datetime().nullable(),
  closedAt: z.iso.datetime().nullable(),
  outcome: z.string().nullable(),
  transitions: z.array(exportTransition),
});
const exportActivity = z.object({
  seq: z.number().int(),
  at: z.iso.datetime(),
  actorType: z.string(),
  actorId: z.uuid().nullable(),
  /** The staff member's name while their account exists; null for tokens, the system and erased users. */
  actorName: z.string().nullable(),
  action: z.string(),
  reason: z.string().nullable(),
});

/** Everything stored about one recipient. Version 1. */
export const recipientExport = z.object({
  format: z.literal("vakt.recipient-export"),
  version: z.literal(1),
  generatedAt: z.iso.datetime(),
  organisationId: z.uuid(),
  recipient: recipient.extend({ restrictedAt: z.iso.datetime().nullable(), createdAt: z.iso.datetime() }),
  devices: z.array(
    z.object({
      id: z.uuid(),
      serial: z.string(),
      model: z.string(),
      lastSeenAt: z.iso.datetime().nullable(),
      batteryPercent: z.number().nullable(),
    }),
  ),
  /** Geofence enters and leaves the tracker reported (OwnTracks regions), in the positions' range and rules. */
  regionTransitions: z.object({
    items: z.array(
      z.object({
        time: z.iso.datetime(),
        deviceId: z.uuid(),
        event: z.enum(["enter", "leave"]),
        regionDesc: z.string().nullable(),
        regionId: z.string().nullable(),
        regionTime: z.iso.datetime().nullable(),
        trigger: z.string().nullable(),
        lat: z.number(),
        lon: z.number(),
        accuracyM: z.number().nullable(),
      }),
    ),
    omitted: z.string().nullable(),
  }),
  geofences: z.array(
    z.object({
      id: z.uuid(),
      name: z.string(),
      shape: z.unknown(),
      active: z.boolean(),
      alarmOn: z.string(),
    }),
  ),
  /** The call list: who the night shift phones for them, in order. */
  contacts: z.array(
    z.object({
      id: z.uuid(),
      position: z.number().int(),
      name: z.string(),
      relation: z.string(),
      phone: z.string(),
      notes: z.string(),
      availability: z.string(),
    }),
  ),
  positions: z.object({
    from: z.iso.datetime(),
    to: z.iso.datetime(),
    items: z.array(exportPosition),
    /** Why items is empty when positions were left out (the caller lacks position:read there); null when included. */
    omitted: z.string().nullable(),
  }),
  alarms: z.array(exportAlarm),
  /** Every activity-log row naming the recipient: who viewed or changed their data, when and why. */
  activity: z.array(exportActivity),
});
export type RecipientExport = z.infer<typeof recipientExport>;
