import type { AlarmState, AlarmSummary, LiveAlarmAlert } from "@vakt/schemas";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type AskedMap,
  applyAlarmChange,
  applyAlert,
  DEFAULT_SOUND,
  keepOpen,
  parseAsked,
  parseSoundPrefs,
  serialiseAsked,
} from "./asked";

const ids = ["a", "b", "c"].map((c) => `00000000-0000-4000-8000-00000000000${c}`);

function summary(id: string, state: AlarmState): AlarmSummary {
  return {
    id,
    type: "sos",
    severity: "critical",
    state,
    source: "device",
    raisedAt: "2026-12-02T02:00:00.000Z",
    receivedAt: "2026-12-02T02:00:00.000Z",
    recipient: null,
    department: { id: "20000000-0000-4000-8000-000000000001", name: "Sone 1" },
    device: { id: "d", serial: "D1", model: "m", batteryPercent: null, online: true, trackingUntil: null },
    position: null,
    assignee: null,
    cancelWindowUntil: null,
    acknowledgedAt: null,
    closedAt: null,
    outcome: null,
    details: {},
  };
}
const alert = (id: string, step: number | null, state: AlarmState = "open"): LiveAlarmAlert => ({
  alarm: summary(id, state),
  step,
  message: "m",
  asked: [{ id: "10000000-0000-4000-8000-000000000001", name: "Oda Operatør" }],
});

describe("the alarms this user was asked to take", () => {
  it("rings from the first alert, keeps the last step through a reminder, and stops once taken", () => {
    let m: AskedMap = new Map();
    m = applyAlert(m, alert(ids[0] as string, 1), 1);
    expect(m.get(ids[0] as string)).toMatchObject({ step: 1, lastStep: 1, names: ["Oda Operatør"] });
    m = applyAlert(m, alert(ids[0] as string, 2), 2);
    m = applyAlert(m, alert(ids[0] as string, null), 3);
    expect(m.get(ids[0] as string)).toMatchObject({ step: null, lastStep: 2 });
    m = applyAlarmChange(m, { id: ids[0] as string, state: "acknowledged" });
    expect(m.size).toBe(0);
  });

  it("never rings for an alert whose alarm is no longer open", () => {
    expect(applyAlert(new Map(), alert(ids[0] as string, 1, "acknowledged"), 1).size).toBe(0);
  });

  it("whatever the order of alerts and changes, an alarm rings exactly when its last word was an alert for an open alarm", () => {
    const event = fc.record({
      id: fc.constantFrom(...ids),
      kind: fc.constantFrom("alert", "change"),
      state: fc.constantFrom<AlarmState>("open", "acknowledged", "resolved", "cancelled"),
      step: fc.option(fc.integer({ min: 1, max: 10 })),
    });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 40 }), (events) => {
        let m: AskedMap = new Map();
        const expected = new Map<string, boolean>();
        for (const e of events) {
          if (e.kind === "alert") {
            m = applyAlert(m, alert(e.id, e.step, e.state), 0);
            expected.set(e.id, e.state === "open");
          } else {
            m = applyAlarmChange(m, { id: e.id, state: e.state });
            if (e.state !== "open") expected.set(e.id, false);
          }
        }
        for (const id of ids) expect(m.has(id)).toBe(expected.get(id) ?? false);
      }),
    );
  });

  it("after a refetch, stops ringing for alarms taken or closed meanwhile", () => {
    let m: AskedMap = new Map();
    for (const id of ids) m = applyAlert(m, alert(id, 1), 0);
    const kept = keepOpen(m, [
      { id: ids[0] as string, state: "open" },
      { id: ids[1] as string, state: "acknowledged" },
    ]);
    expect([...kept.keys()]).toEqual([ids[0]]);
    expect(keepOpen(kept, [{ id: ids[0] as string, state: "open" }])).toBe(kept);
  });

  it("survives a reload through sessionStorage, and forgets what it cannot read", () => {
    let m: AskedMap = new Map();
    m = applyAlert(m, alert(ids[0] as string, 2), 5);
    expect(parseAsked(serialiseAsked(m))).toEqual(m);
    for (const bad of [
      null,
      "",
      "{",
      "42",
      '{"a":1}',
      '[null, 1, {"alarmId": 3}]',
      '[{"alarmId":"x","at":"y"}]',
    ])
      expect(parseAsked(bad).size).toBe(0);
    fc.assert(fc.property(fc.string(), (s) => void parseAsked(s)));
  });
});

describe("the sound settings", () => {
  it("default to on with a 15 s repeat, take the old switch as the default, and refuse odd values", () => {
    expect(parseSoundPrefs(null, null)).toEqual(DEFAULT_SOUND);
    expect(parseSoundPrefs(null, "off").newAlarms).toBe(false);
    expect(parseSoundPrefs('{"repeatS":7,"asked":"yes"}', null)).toEqual(DEFAULT_SOUND);
    expect(parseSoundPrefs('{"repeatS":5,"asked":false,"newAlarms":false}', null)).toEqual({
      repeatS: 5,
      asked: false,
      newAlarms: false,
    });
    fc.assert(
      fc.property(fc.string(), (s) => {
        const p = parseSoundPrefs(s, null);
        expect([5, 10, 15, 30, 60]).toContain(p.repeatS);
      }),
    );
  });
});
