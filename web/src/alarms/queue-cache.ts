/**
 * The alarm queue in TanStack Query's cache: the fetched list of active alarms is one query, and
 * every live alarm event updates that query's data with the pure queue rules (./queue.ts). A fetch
 * races the socket, so each fetch under way collects the events that arrive meanwhile and lays them
 * over its answer (mergeFetchedQueue): the answer may have been read before or after any of them.
 */
import type { QueryClient } from "@tanstack/react-query";
import type { AlarmSummary } from "@vakt/schemas";
import { mergeFetchedQueue, upsertAlarm } from "./queue";

export const activeAlarmsKey = ["alarms", "active"] as const;

export interface AlarmQueueCache {
  /** The queryFn's body: loads the list and merges what came live during the load. */
  fetch(load: () => Promise<readonly AlarmSummary[]>): Promise<AlarmSummary[]>;
  /**
   * A live `alarm:new` or `alarm:changed`. Returns false when it leaves the queue as it was: an
   * escalation changes no state, and its summary may have been read before a take that overtook it
   * on the way here, so it must never move a listed alarm back.
   */
  live(alarm: AlarmSummary, change: string | null): boolean;
}

export function alarmQueueCache(client: QueryClient): AlarmQueueCache {
  const fetches = new Set<AlarmSummary[]>();
  return {
    async fetch(load) {
      const during: AlarmSummary[] = [];
      fetches.add(during);
      try {
        return mergeFetchedQueue(await load(), during);
      } finally {
        fetches.delete(during);
      }
    },
    live(alarm, change) {
      const queue = client.getQueryData<AlarmSummary[]>(activeAlarmsKey);
      if (change === "escalated" && queue?.some((q) => q.id === alarm.id)) return false;
      for (const during of fetches) during.push(alarm);
      // Before the first answer there is no queue to change: the fetch under way has the event.
      if (queue !== undefined)
        client.setQueryData<AlarmSummary[]>(activeAlarmsKey, upsertAlarm(queue, alarm));
      return true;
    },
  };
}
