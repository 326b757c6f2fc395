import type { AlarmSummary } from "@vakt/schemas";
import { describe, expect, it } from "vitest";
import { isNewToQueue, openAlarmsByRecipient, sortQueue, upsertAlarm } from "./queue";

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
