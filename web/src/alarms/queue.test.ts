import type { AlarmState, AlarmSummary } from "@vakt/schemas";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isNewToQueue, mergeFetchedQueue, openAlarmsByRecipient, sortQueue, upsertAlarm } from "./queue";

let n = 0;
function alarm(over: Partial<AlarmSummary>): AlarmSummary {
  n += 1;
  const id = `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
  return {
    id,
    type: "sos",
    severity: "critical",
    state: "open",
    source: "device",
    raisedAt: "2026-11-21T02:00:00.000Z",
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
    assignee: null,
    cancelWindowUntil: null,
    acknowledgedAt: null,
    closedAt: null,
    outcome: null,
    details: {},
    ...over,
  };
}

describe("the alarm queue", () => {
  it("puts untaken before taken, then the most severe, then the newest", () => {
    const oldSos = alarm({ raisedAt: "2026-11-21T01:00:00.000Z" });
    const newSos = alarm({ raisedAt: "2026-11-21T02:00:00.000Z" });
    const newLowBattery = alarm({
      severity: "low",
      type: "low_battery",
      raisedAt: "2026-11-21T03:00:00.000Z",
    });
    const takenSos = alarm({ state: "acknowledged", raisedAt: "2026-11-21T04:00:00.000Z" });
    const fall = alarm({ severity: "high", type: "fall", raisedAt: "2026-11-21T00:30:00.000Z" });
    expect(sortQueue([takenSos, newLowBattery, oldSos, fall, newSos]).map((a) => a.id)).toEqual([
      newSos.id,
      oldSos.id,
      fall.id,
      newLowBattery.id,
      takenSos.id,
    ]);
  });

  it("replaces a known alarm and drops it once resolved or cancelled", () => {
    const a = alarm({});
    const b = alarm({ severity: "low" });
    let q = upsertAlarm([], a);
    q = upsertAlarm(q, b);
    expect(q.map((x) => x.id)).toEqual([a.id, b.id]);
    q = upsertAlarm(q, { ...a, state: "acknowledged", assignee: { id: a.id, name: "Oda" } });
    expect(q.map((x) => x.state)).toEqual(["open", "acknowledged"]);
    q = upsertAlarm(q, { ...a, state: "resolved" });
    expect(q.map((x) => x.id)).toEqual([b.id]);
    q = upsertAlarm(q, { ...b, state: "cancelled" });
    expect(q).toEqual([]);
  });

  it("knows which alarms are new (to ring for) and counts open alarms per recipient", () => {
    const a = alarm({});
    expect(isNewToQueue([], a)).toBe(true);
    expect(isNewToQueue([a], a)).toBe(false);
    expect(isNewToQueue([], { ...a, state: "acknowledged" })).toBe(false);
    const other = alarm({ recipient: null });
    expect(openAlarmsByRecipient([a, alarm({}), other]).get(a.recipient?.id ?? "")).toBe(2);
  });
});

describe("a fetched queue and the live events around it", () => {
  // The server's history: alarms raised, taken and closed, each step one live event in order.
  // A fetch is sent after `sent` events had arrived, read the server after `read` (>= sent) and
  // answered after `answered` had arrived (before or after `read`: the socket and the request race).
  const history = fc
    .array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.constantFrom("open", "acknowledged", "resolved")), {
      maxLength: 30,
    })
    .map((steps) => {
      const ids = Array.from(
        { length: 6 },
        (_, i) => `00000000-0000-4000-9000-${String(i).padStart(12, "0")}`,
      );
      const reached = new Map<number, AlarmState>();
      const events: AlarmSummary[] = [];
      for (const [i, want] of steps) {
        const at = reached.get(i);
        // Only forward: a closed alarm stays closed, a taken one is not untaken.
        if (at === "resolved" || (at === "acknowledged" && want === "open")) continue;
        if (at === undefined && want !== "open") continue;
        reached.set(i, want);
        events.push(
          alarm({
            id: ids[i],
            state: want,
            acknowledgedAt: want === "open" ? null : "2026-11-21T02:01:00.000Z",
          }),
        );
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

  const serverAfter = (events: readonly AlarmSummary[]) => {
    let active: AlarmSummary[] = [];
    for (const e of events) active = upsertAlarm(active, e);
    return active;
  };

  it("ends with exactly the server's active alarms, however the fetch and the socket interleave", () => {
    fc.assert(
      fc.property(history, ({ events, sent, read, answered }) => {
        let queue: AlarmSummary[] = [];
        const during: AlarmSummary[] = [];
        events.forEach((e, i) => {
          if (i === answered) queue = mergeFetchedQueue(serverAfter(events.slice(0, read)), during);
          queue = upsertAlarm(queue, e);
          if (i >= sent && i < answered) during.push(e);
        });
        if (answered === events.length) queue = mergeFetchedQueue(serverAfter(events.slice(0, read)), during);
        expect(queue.map((a) => [a.id, a.state])).toEqual(serverAfter(events).map((a) => [a.id, a.state]));
      }),
    );
  });

  it("keeps an alarm that arrived live while the fetch, read before it, was under way", () => {
    const raised = alarm({});
    expect(mergeFetchedQueue([], [raised]).map((a) => a.id)).toEqual([raised.id]);
  });

  it("does not bring back, as open, an alarm the fetched list already shows taken", () => {
    const open = alarm({});
    const taken = { ...open, state: "acknowledged" as const, acknowledgedAt: "2026-11-21T02:01:00.000Z" };
    expect(mergeFetchedQueue([taken], [open]).map((a) => a.state)).toEqual(["acknowledged"]);
  });
});
