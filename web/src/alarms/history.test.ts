import { type AlarmDelivery, type AlarmTransition, csvCell } from "@vakt/schemas";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dictionaries } from "../i18n/dict";
import {
  CSV_COLUMNS,
  formatDuration,
  historyCsv,
  timeline,
  timeToClose,
  timeToTake,
  windowRow,
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
  reason: null,
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

  it("puts the cancel window's opening and end among the rows in time order, and words each ending", () => {
    const how = fc.constantFrom("routed", "cancelled_on_device", "cancelled", "taken", "resolved" as const);
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 100_000 }), { maxLength: 8 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.option(fc.record({ d: fc.integer({ min: 0, max: 100_000 }), how, name: fc.option(fc.string()) })),
        (times, opened, ended) => {
          const iso = (ms: number) => new Date(Date.UTC(2026, 11, 2) + ms).toISOString();
          const w = {
            openedAt: iso(opened),
            seconds: 30,
            endsAt: iso(opened + 30_000),
            ended: ended
              ? {
                  at: iso(opened + ended.d),
                  how: ended.how,
                  actor: ended.name === null ? null : { type: "user" as const, id: null, name: ended.name },
                }
              : null,
          };
          const items = timeline(
            times.map((ms, i) => tr(i, iso(ms), "commented")),
            [],
            w,
          );
          const ats = items.map((i) => Date.parse(i.at));
          expect(ats).toEqual([...ats].sort((a, b) => a - b));
          const rows = items.filter((i) => i.kind === "window");
          expect(rows.map((r) => r.phase)).toEqual(ended ? ["opened", "ended"] : ["opened"]);
          for (const r of rows) {
            const { key, values } = windowRow(r.phase, r.window);
            expect(key in dictionaries.nb && key in dictionaries.en).toBe(true);
            if (r.phase === "opened") expect(values).toEqual({ seconds: 30 });
            else if (ended?.name && !["routed", "cancelled_on_device"].includes(ended.how))
              expect(values).toEqual({ name: ended.name });
          }
        },
      ),
    );
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
