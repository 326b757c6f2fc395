/** The alarm queue's order and how live events change it: pure, so it is tested without a browser. */
import type { AlarmSeverity, AlarmState, AlarmSummary } from "@vakt/schemas";

const severityRank: Record<AlarmSeverity, number> = { critical: 0, high: 1, medium: 2, low: 3 };
const stateRank: Record<AlarmState, number> = { open: 0, acknowledged: 1, resolved: 2, cancelled: 2 };

export const isActive = (a: Pick<AlarmSummary, "state">) => a.state === "open" || a.state === "acknowledged";

/** Untaken before taken, then most severe, then newest. */
export function compareAlarms(a: AlarmSummary, b: AlarmSummary): number {
  return (
    stateRank[a.state] - stateRank[b.state] ||
    severityRank[a.severity] - severityRank[b.severity] ||
    Date.parse(b.raisedAt) - Date.parse(a.raisedAt) ||
    a.id.localeCompare(b.id)
  );
}

export function sortQueue(alarms: readonly AlarmSummary[]): AlarmSummary[] {
  return [...alarms].sort(compareAlarms);
}

/** Applies a pushed or fetched alarm: replaces the known one, drops it when closed, keeps the order. */
export function upsertAlarm(queue: readonly AlarmSummary[], alarm: AlarmSummary): AlarmSummary[] {
  const rest = queue.filter((a) => a.id !== alarm.id);
  return isActive(alarm) ? sortQueue([...rest, alarm]) : rest;
}

/** Whether an event brings an alarm the user has not seen yet (for the sound and the blinking title). */
export function isNewToQueue(queue: readonly AlarmSummary[], alarm: AlarmSummary): boolean {
  return alarm.state === "open" && !queue.some((a) => a.id === alarm.id);
}

/** Open alarms per recipient, for the markers. */
export function openAlarmsByRecipient(queue: readonly AlarmSummary[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const a of queue)
    if (a.recipient && isActive(a)) m.set(a.recipient.id, (m.get(a.recipient.id) ?? 0) + 1);
  return m;
}

const progress: Record<AlarmState, number> = { open: 0, acknowledged: 1, resolved: 2, cancelled: 2 };

/**
 * A fetched list of active alarms, with the live events that came while it was
 * being fetched laid over it (in arrival order). The list may have been read
 * before or after any of those events, so an event is applied unless the list
 * already shows the alarm further along (open, then taken, then closed).
 * Replacing the queue with the list alone loses an alarm raised in between.
 */
export function mergeFetchedQueue(
  fetched: readonly AlarmSummary[],
  liveDuringFetch: readonly AlarmSummary[],
): AlarmSummary[] {
  let queue = sortQueue(fetched);
  for (const live of liveDuringFetch) {
    const known = queue.find((a) => a.id === live.id);
    if (known && progress[known.state] > progress[live.state]) continue;
    queue = upsertAlarm(queue, live);
  }
  return queue;
}
