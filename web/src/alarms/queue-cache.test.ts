import { QueryClient } from "@tanstack/react-query";
import type { AlarmState, AlarmSummary } from "@vakt/schemas";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mergeFetchedQueue, upsertAlarm } from "./queue";
import { activeAlarmsKey, alarmQueueCache } from "./queue-cache";

const ids = Array.from({ length: 6 }, (_, i) => `00000000-0000-4000-9000-${String(i).padStart(12, "0")}`);

function alarm(id: string, state: AlarmState, raisedMinute: number): AlarmSummary {
  return {
    id,
    type: "sos",
    severity: raisedMinute % 2 === 0 ? "critical" : "high",
    state,
    source: "device",
    raisedAt: `2026-11-21T02:${String(raisedMinute).padStart(2, "0")}:00.000Z`,
    receivedAt: "2026-11-21T02:00:00.000Z",
    recipient: { id: "10000000-0000-4000-8000-000000000001", firstName: "Kari", lastName: "Berg" },
    department: { id: "20000000-0000-4000-8000-000000000001", name: "Sone 1" },
    device: {
      id: "30000000-0000-4000-8000-000000000001",
      serial: "D1",
      model: "m",
      batteryPercent: 50,
      online: true,
      trackingUntil: null,
    },
    position: null,
    assignee: state === "open" ? null : { id: "40000000-0000-4000-8000-000000000001", name: "Oda" },
    cancelWindowUntil: null,
    acknowledgedAt: state === "open" ? null : "2026-11-21T02:59:00.000Z",
    closedAt: state === "resolved" || state === "cancelled" ? "2026-11-21T03:00:00.000Z" : null,
    outcome: null,
    details: {},
  };
}

interface Event {
  alarm: AlarmSummary;
  /** The `change` of alarm:changed; null for alarm:new. */
  change: string | null;
}

/**
 * The server's history as the socket tells it: alarms raised, taken, closed (only forward), and
 * escalations in between whose summary may be stale (read before a take that overtook it).
 */
const history = fc
  .array(
    fc.tuple(
      fc.integer({ min: 0, max: 5 }),
      fc.constantFrom<AlarmState | "escalated">("open", "acknowledged", "resolved", "cancelled", "escalated"),
      fc.boolean(),
    ),
    { maxLength: 40 },
  )
  .map((steps) => {
    const reached = new Map<number, AlarmState>();
    const seenStates = new Map<number, AlarmState[]>();
    const events: Event[] = [];
    for (const [i, want, stale] of steps) {
      const at = reached.get(i);
      const id = ids[i] ?? "";
      if (want === "escalated") {
        if (at !== "open" && at !== "acknowledged") continue;
        const states = seenStates.get(i) ?? [at];
        events.push({ alarm: alarm(id, stale ? (states[0] ?? at) : at, i), change: "escalated" });
        continue;
      }
      if (at === "resolved" || at === "cancelled" || (at === "acknowledged" && want === "open")) continue;
      if (at === undefined && want !== "open") continue;
      if (at !== undefined && at === want) continue;
      reached.set(i, want);
      seenStates.set(i, [...(seenStates.get(i) ?? []), want]);
      const change = at === undefined ? null : want === "acknowledged" ? "taken" : want;
      events.push({ alarm: alarm(id, want, i), change });
    }
    return events;
  })
  .chain((events) =>
    fc
      .tuple(fc.nat({ max: events.length }), fc.nat({ max: events.length }), fc.nat({ max: events.length }))
      .map(([a, b, c]) => {
        const [sent, read] = [Math.min(a, b), Math.max(a, b)];
        return { events, sent, read, answered: Math.max(sent, c) };
      }),
  );

/** The active alarms after these events by the pure queue rules alone (an escalation changes no state). */
const serverAfter = (events: readonly Event[]) => {
  let active: AlarmSummary[] = [];
  for (const e of events) if (e.change !== "escalated") active = upsertAlarm(active, e.alarm);
  return active;
};

const ofQueue = (q: readonly AlarmSummary[] | undefined) => (q ?? []).map((a) => [a.id, a.state]);

describe("the alarm queue in the query cache", () => {
  it("ends as the pure queue logic says, however the fetch and the socket interleave", async () => {
    await fc.assert(
      fc.asyncProperty(history, async ({ events, sent, read, answered }) => {
        const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
        const cache = alarmQueueCache(client);
        let answer: (list: AlarmSummary[]) => void = () => undefined;
        let fetching: Promise<unknown> | null = null;
        const startFetch = () => {
          fetching = client.fetchQuery({
            queryKey: activeAlarmsKey,
            queryFn: () => cache.fetch(() => new Promise<AlarmSummary[]>((resolve) => (answer = resolve))),
          });
        };
        for (let i = 0; i <= events.length; i++) {
          if (i === sent) startFetch();
          // The server is read at `read`; the answer arrives at `answered`, after the events before it.
          if (i === answered) {
            answer(serverAfter(events.slice(0, read)));
            await fetching;
          }
          const e = events[i];
          if (e) cache.live(e.alarm, e.change);
        }
        expect(ofQueue(client.getQueryData(activeAlarmsKey))).toEqual(ofQueue(serverAfter(events)));
        // The same as laying the whole stream over the fetched list by hand, as the console once did.
        const during = events.slice(sent, answered).filter((e) => e.change !== "escalated");
        let byHand = mergeFetchedQueue(
          serverAfter(events.slice(0, read)),
          during.map((e) => e.alarm),
        );
        for (const e of events.slice(answered))
          if (e.change !== "escalated") byHand = upsertAlarm(byHand, e.alarm);
        expect(ofQueue(client.getQueryData(activeAlarmsKey))).toEqual(ofQueue(byHand));
      }),
    );
  });

  it("never moves a listed alarm back on a stale escalation, and says it changed nothing", async () => {
    const client = new QueryClient();
    const cache = alarmQueueCache(client);
    const open = alarm(ids[0] ?? "", "open", 1);
    await client.fetchQuery({ queryKey: activeAlarmsKey, queryFn: () => cache.fetch(async () => [open]) });
    expect(cache.live({ ...open, state: "acknowledged" }, "taken")).toBe(true);
    expect(cache.live(open, "escalated")).toBe(false);
    expect(ofQueue(client.getQueryData(activeAlarmsKey))).toEqual([[open.id, "acknowledged"]]);
  });

  it("keeps an alarm raised before the first answer", async () => {
    const client = new QueryClient();
    const cache = alarmQueueCache(client);
    const raised = alarm(ids[1] ?? "", "open", 2);
    let answer: (l: AlarmSummary[]) => void = () => undefined;
    const q = client.fetchQuery({
      queryKey: activeAlarmsKey,
      queryFn: () => cache.fetch(() => new Promise((r) => (answer = r))),
    });
    cache.live(raised, null);
    expect(client.getQueryData(activeAlarmsKey)).toBeUndefined();
    answer([]);
    await q;
    expect(ofQueue(client.getQueryData(activeAlarmsKey))).toEqual([[raised.id, "open"]]);
  });
});
