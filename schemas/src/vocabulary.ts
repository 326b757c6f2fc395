/**
 * The platform's vocabularies, one list each, shared by the API and the console: what a caller may
 * do (permissions), what the activity log records (actions), what an alarm push says changed and
 * the API's in-process events with their payloads. A new word is added here, and the
 * compiler then names every place that must know it (the console's dictionary among them).
 */
import { z } from "zod";
import type { LiveAlarmAlert } from "./api/live";

export const permissions = [
  "organisation:read",
  "organisation:manage",
  "department:read",
  "department:manage",
  "user:read",
  "user:manage",
  "recipient:read",
  /** A recipient's birth date, responder notes and legal-basis reference (not locators: they see the minimum). */
  "recipient:details",
  "recipient:manage",
  "device:read",
  "device:manage",
  "device:configure",
  "geofence:manage",
  "position:read",
  /** Look up a position only, giving a reason each time (locators). */
  "position:locate",
  "alarm:read",
  "alarm:acknowledge",
  /**
   * Ask a device for its position: held by no role (people locate through
   * position:read or position:locate); an API token needs it granted explicitly.
   */
  "device:locate",
  /** Alert routing: rules, escalation steps and endpoints of a department. */
  "routing:manage",
  "activity:read",
  "token:manage",
] as const;
export type Permission = (typeof permissions)[number];
export const permission = z.enum(permissions);

/** Every action the activity log records. */
export const activityActions = [
  "activity.exported",
  "alarm.called",
  "alarm.cancelled",
  "alarm.commented",
  "alarm.listed",
  "alarm.opened",
  "alarm.reopened",
  "alarm.resolved",
  "alarm.taken",
  "alert_endpoint.created",
  "alert_endpoint.deleted",
  "alert_endpoint.pinged",
  "alert_endpoint.updated",
  "alert_rule.created",
  "alert_rule.deleted",
  "alert_rule.updated",
  "contact.created",
  "contact.deleted",
  "contact.updated",
  "contacts.reordered",
  "contacts.viewed",
  "dead_letters.viewed",
  "department.closed",
  "department.created",
  "department.updated",
  "device.assigned",
  "device.configured",
  "device.credentials_rotated",
  "device.listed",
  "device.locate_requested",
  "device.provisioned",
  "device.swapped",
  "device.unassigned",
  "device_messages.viewed",
  "geofence.created",
  "geofence.deleted",
  "geofence.updated",
  "invitation.accepted",
  "login.break_glass",
  "login.failed",
  "login.password_accepted",
  "login.succeeded",
  "login_settings.updated",
  "logout",
  "logout.everywhere",
  "logout.others",
  "organisation.created",
  "organisation.updated",
  "password.reset",
  "password.reset_requested",
  "position.current_viewed",
  "position.history_viewed",
  "position.live_watch_ended",
  "position.live_watch_started",
  "recipient.created",
  "recipient.erased",
  "recipient.exported",
  "recipient.listed",
  "recipient.restricted",
  "recipient.restriction_lifted",
  "recipient.updated",
  "recipient.viewed",
  "recipient.viewed_with_reason",
  "retention.updated",
  "second_factor.disabled",
  "second_factor.enabled",
  "sso.login_failed",
  "sso.login_succeeded",
  "sso_provider.created",
  "sso_provider.deleted",
  "sso_provider.updated",
  "token.created",
  "token.revoked",
  "user.created",
  "user.created_by_sso",
  "user.erased",
  "user.grants_changed_by_sso",
  "user.updated",
] as const;
export type ActivityAction = (typeof activityActions)[number];

/**
 * What an `alarm:changed` push says happened: a transition made through the API, a call logged, an
 * escalation step run, the cancel window known; "changed" for a change ingest announced.
 */
export const alarmChanges = [
  "acknowledged",
  "commented",
  "resolved",
  "cancelled",
  "reopened",
  "called",
  "escalated",
  "cancel_window",
  "changed",
] as const;
export type AlarmChange = (typeof alarmChanges)[number];

/**
 * The API process's in-process events (its bus, api/src/bus.ts), each name with its payload, so an
 * emitter or listener with a wrong name or payload does not compile. Between processes events go
 * through PostgreSQL NOTIFY instead (events.ts).
 */
export interface InProcessEvents {
  /** An alarm changed through this process (its REST API or alert routing): live pushes it to every process. */
  alarm: { alarmId: string; change: Exclude<AlarmChange, "changed"> };
  /** An alarm was reopened: alert routing claims it again. */
  reopened: { alarmId: string };
  /** A device changed through this process (alert routing turned tracking on): live pushes it. */
  device: { deviceId: string };
  /** An escalation step's console alert, to the users it asks. */
  alert: { userIds: string[]; alert: LiveAlarmAlert };
  /** Live pushed an alarm to its rooms (change null: a new alarm); the metrics count it. */
  "alarm:emitted": { alarmId: string; change: AlarmChange | null };
}
export type InProcessEvent = keyof InProcessEvents;
