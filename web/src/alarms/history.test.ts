import type { AlarmDelivery, AlarmTransition } from "@vakt/schemas";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CSV_COLUMNS,
  csvCell,
  formatDuration,
  historyCsv,
  timeline,
  timeToClose,
  timeToTake,
} from "./history";

const tr = (id: number, at: string, kind: AlarmTransition["kind"]): AlarmTransition => ({
  id,
  at,
  kind,
  fromState: null,
  toState: null,
  actor: { type: "system", id: null, name: null },
  note: null,
  details: {},
});
const dl = (id: string, at: string): AlarmDelivery => ({
  id,
  at,
  step: 1,
  channel: "console",
  target: "u",
  targetName: "Oda Operatør",
  result: "sent",
  attempt: 1,
  detail: null,
});

describe("the alarm history", () => {
  it("measures time to take and to close from the raise, and nothing for what never happened", () => {
    const a = {
      raisedAt: "2026-12-02T02:00:00.000Z",
      acknowledgedAt: "2026-12-02T02:01:30.000Z",
      closedAt: null,
    };
    expect(timeToTake(a)).toBe(90_000);
    expect(timeToClose(a)).toBeNull();
    expect(timeToTake({ ...a, acknowledgedAt: null })).toBeNull();
    expect(formatDuration(90_000)).toBe("1 min 30 s");
    expect(formatDuration(7_500_000)).toBe("2 h 5 min");
    expect(formatDuration(null)).toBe("–");
  });

  it("lays transitions and deliveries on one timeline in time order, the escalation before its deliveries", () => {
    const at = "2026-12-02T02:00:06.000Z";
    const items = timeline(
      [
        tr(1, "2026-12-02T02:00:00.000Z", "raised"),
        tr(2, at, "escalated"),
        tr(3, "2026-12-02T02:01:00.000Z", "acknowledged"),
      ],
      [dl("d1", at)],
    );
    expect(items.map((i) => (i.kind === "transition" ? i.transition.kind : "delivery"))).toEqual([
      "raised",
      "escalated",
      "delivery",
      "acknowledged",
    ]);
  });

  it("writes CSV cells a spreadsheet reads back as the same text and never runs as a formula", () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const cell = csvCell(s);
        // Read back: unquote, then drop the guard apostrophe.
        const read = cell.startsWith('"') ? cell.slice(1, -1).replaceAll('""', '"') : cell;
        const guarded = /^[=+\-@\t\r]/.test(s);
        expect(guarded ? read.startsWith("'") : true).toBe(true);
        expect(guarded ? read.slice(1) : read).toBe(s);
        expect(/^[=+\-@]/.test(read)).toBe(false);
      }),
    );
    const csv = historyCsv([]);
    expect(csv).toBe(`${CSV_COLUMNS.join(",")}\r\n`);
  });
});
