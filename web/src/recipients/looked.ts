/**
 * The recipient's "who has looked at me" list as sentences a next of kin can
 * follow: who (by name), what they saw or did, for how long, and why. Pure,
 * so every action the API logs is tested to come out as prose, never a code.
 */
import type { ActivityEntry } from "@vakt/schemas";
import type { MessageKey } from "../i18n/dict";

type T = (key: MessageKey, vars?: Record<string, string | number>) => string;

/** Actions with a sentence of their own; anything else falls back on its area (the part before the dot). */
const sentences: Record<string, MessageKey> = {
  "position.current_viewed": "looked.position.current_viewed",
  "position.history_viewed": "looked.position.history_viewed",
  "position.live_watch_started": "looked.position.live_watch_started",
  "position.live_watch_ended": "looked.position.live_watch_ended",
  "device.locate_requested": "looked.device.locate_requested",
  "recipient.viewed": "looked.recipient.viewed",
  "recipient.viewed_with_reason": "looked.recipient.viewed",
  "recipient.listed": "looked.recipient.listed",
  "recipient.created": "looked.recipient.created",
  "recipient.updated": "looked.recipient.updated",
  "recipient.exported": "looked.recipient.exported",
  "recipient.restricted": "looked.recipient.restricted",
  "recipient.restriction_lifted": "looked.recipient.restriction_lifted",
  "alarm.opened": "looked.alarm.opened",
  "alarm.listed": "looked.alarm.listed",
  "alarm.taken": "looked.alarm.taken",
  "alarm.commented": "looked.alarm.commented",
  "alarm.resolved": "looked.alarm.resolved",
  "alarm.cancelled": "looked.alarm.cancelled",
  "alarm.reopened": "looked.alarm.reopened",
  "alarm.called": "looked.alarm.called",
  "contacts.viewed": "looked.contacts.viewed",
  "contacts.reordered": "looked.contacts.changed",
  "contact.created": "looked.contacts.changed",
  "contact.updated": "looked.contacts.changed",
  "contact.deleted": "looked.contacts.changed",
  "geofence.created": "looked.geofence.changed",
  "geofence.updated": "looked.geofence.changed",
  "geofence.deleted": "looked.geofence.changed",
  "device.configured": "looked.device.changed",
  "device.assigned": "looked.device.changed",
  "device.unassigned": "looked.device.changed",
  "device.swapped": "looked.device.changed",
  "device.listed": "looked.device.listed",
};
const areas: Record<string, MessageKey> = {
  position: "looked.area.position",
  alarm: "looked.area.alarm",
  device: "looked.area.device",
  geofence: "looked.area.geofence",
  recipient: "looked.area.recipient",
};

/** The filters offered: each an action prefix the API's `action` filter takes. */
export const LOOKED_FILTERS = ["", "position", "alarm", "recipient", "device", "geofence"] as const;
export type LookedFilter = (typeof LOOKED_FILTERS)[number];

export function actorName(e: ActivityEntry, staff: ReadonlyMap<string, string>, t: T): string {
  if (e.actorType === "user") return (e.actorId && staff.get(e.actorId)) || t("looked.actor.staff");
  if (e.actorType === "api_token") return t("looked.actor.token");
  if (e.actorType === "system") return t("looked.actor.system");
  return t("looked.actor.anonymous");
}

/** One sentence: "Oda Operatør watched Kari Berg's position on the live map for 4 minutes." */
export function describeEntry(
  e: ActivityEntry,
  recipientName: string,
  staff: ReadonlyMap<string, string>,
  t: T,
): string {
  const who = actorName(e, staff, t);
  const vars = { who, name: recipientName || t("looked.theRecipient") };
  // Own keys only: an action named "__proto__…" or "constructor" must not find Object's members.
  const key = Object.hasOwn(sentences, e.action) ? sentences[e.action] : undefined;
  let text: string;
  if (key) text = t(key, vars);
  else {
    const head = e.action.split(".")[0] ?? "";
    const area = Object.hasOwn(areas, head) ? areas[head] : undefined;
    text = t("looked.other", { ...vars, area: area ? t(area) : t("looked.area.other") });
  }
  const seconds = e.details.seconds;
  if (e.action === "position.live_watch_ended" && typeof seconds === "number")
    text += ` ${t("looked.duration", { duration: duration(seconds, t) })}`;
  const others = e.recipientIds.length - 1;
  if (e.action.startsWith("position.") && others > 0) text += ` ${t("looked.withOthers", { count: others })}`;
  return text;
}

function duration(seconds: number, t: T): string {
  if (seconds < 90) return t("looked.seconds", { n: Math.max(0, Math.round(seconds)) });
  if (seconds < 5400) return t("looked.minutes", { n: Math.round(seconds / 60) });
  return t("looked.hours", { n: Math.round(seconds / 360) / 10 });
}

export interface LookedQuery {
  kind: LookedFilter;
  /** yyyy-mm-dd from the date fields, local time; "" for no bound. */
  from: string;
  to: string;
}

/**
 * The rows the filters keep, in the order given (newest first), as the API's activity query
 * filters: the action is the kind or starts with it and a dot; from the start of `from` to the
 * end of `to` in local time.
 */
export function lookedRows(entries: readonly ActivityEntry[], q: LookedQuery): ActivityEntry[] {
  const from = q.from ? Date.parse(new Date(`${q.from}T00:00:00`).toISOString()) : -Infinity;
  const to = q.to ? Date.parse(new Date(`${q.to}T23:59:59.999`).toISOString()) : Infinity;
  return entries.filter((e) => {
    if (q.kind && e.action !== q.kind && !e.action.startsWith(`${q.kind}.`)) return false;
    const at = Date.parse(e.at);
    return at >= from && at < to;
  });
}
