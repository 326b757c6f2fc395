import type { AlarmState } from "@vakt/schemas";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type NewAlarmSound, NO_SOUND_YET, observe, retain, tick } from "./new-alarm-sound";

type Step =
  | { at: number; kind: "tick" }
  | { at: number; kind: "event"; state: AlarmState; until: number | null; fromFetch: boolean };

/** Runs the steps in time order; answers the instants at which the alarm sounded. */
function run(steps: Step[]): number[] {
  let s: NewAlarmSound = NO_SOUND_YET;
  const sounded: number[] = [];
  for (const step of [...steps].sort((a, b) => a.at - b.at)) {
    if (step.kind === "tick") {
      const r = tick(s, step.at);
      s = r.state;
      if (r.due.includes("a")) sounded.push(step.at);
    } else {
      const r = observe(
        s,
        {
          id: "a",
          state: step.state,
          cancelWindowUntil: step.until === null ? null : new Date(step.until).toISOString(),
        },
        step.at,
        step.fromFetch,
      );
      s = r.state;
      if (r.sound) sounded.push(step.at);
    }
  }
  return sounded;
}

const T0 = 1_700_000_000_000;
const scenario = fc.record({
  /** The window's end relative to the arrival; null: no window. Negative: it ended before the alarm arrived. */
  windowMs: fc.option(fc.integer({ min: -5_000, max: 120_000 }), { nil: null }),
  fromFetch: fc.boolean(),
  ticks: fc.array(fc.integer({ min: 0, max: 200_000 }), { maxLength: 30 }),
  /**
   * Later states while it stays open, pushed (a comment, an escalation) or fetched (a reconnect):
   * the server sends no window once it ended.
   */
  pushes: fc.array(fc.record({ d: fc.integer({ min: 1, max: 200_000 }), fetched: fc.boolean() }), {
    maxLength: 5,
  }),
  /** A cancel (from the device or staff), a take or a resolve, at some point or never. */
  end: fc.option(
    fc.record({
      at: fc.integer({ min: 1, max: 200_000 }),
      state: fc.constantFrom<AlarmState>("cancelled", "acknowledged", "resolved"),
    }),
    { nil: null },
  ),
});

describe("the new-alarm sound and the cancel window", () => {
  it("is quiet in the window, sounds once at its end while open, and never when cancelled or taken in it", () => {
    fc.assert(
      fc.property(scenario, ({ windowMs, fromFetch, ticks, pushes, end }) => {
        const until = windowMs === null ? null : T0 + windowMs;
        const untilAt = (at: number) => (until !== null && until > at ? until : null);
        const endAt = end ? T0 + end.at : Number.POSITIVE_INFINITY;
        const steps: Step[] = [
          { at: T0, kind: "event", state: "open", until, fromFetch },
          // A tick at the very instant of the cancel is a race either way: left out.
          ...ticks.filter((d) => T0 + d !== endAt).map((d) => ({ at: T0 + d, kind: "tick" as const })),
          ...pushes
            .filter((p) => T0 + p.d < endAt)
            .map((p) => ({
              at: T0 + p.d,
              kind: "event" as const,
              state: "open" as const,
              until: untilAt(T0 + p.d),
              fromFetch: p.fetched,
            })),
          ...(end
            ? [{ at: endAt, kind: "event" as const, state: end.state, until: null, fromFetch: false }]
            : []),
        ];
        const sounded = run(steps);
        expect(sounded.length).toBeLessThanOrEqual(1);
        const inWindow = until !== null && until > T0;
        if (!inWindow) {
          // No window (or one already over): a live alarm sounds on arrival; a fetched one never.
          expect(sounded).toEqual(fromFetch ? [] : [T0]);
          return;
        }
        // Never before the window's end, never after it was cancelled or taken.
        for (const at of sounded) {
          expect(at).toBeGreaterThanOrEqual(until);
          expect(at).toBeLessThan(endAt);
        }
        // The first moment the console can tell the window ended: a tick or a push at or after it.
        const observed = [...ticks.map((d) => T0 + d), ...pushes.map((p) => T0 + p.d)]
          .filter((at) => at >= until && at < endAt)
          .sort((a, b) => a - b)[0];
        expect(sounded).toEqual(observed === undefined ? [] : [observed]);
      }),
    );
  });

  it("sounds again for a reopened alarm, and forgets alarms a fetch no longer lists", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4e12 }), fc.integer({ min: 1, max: 600_000 }), (now, w) => {
        const until = new Date(now + w).toISOString();
        let s = observe(NO_SOUND_YET, { id: "a", state: "open", cancelWindowUntil: until }, now).state;
        expect(s.waiting.get("a")).toBe(now + w);
        // Closed while this console was away: the fetch does not list it, and its window end is silent.
        s = retain(s, []);
        expect(tick(s, now + w).due).toEqual([]);
        const closed = observe(s, { id: "a", state: "cancelled", cancelWindowUntil: null }, now).state;
        const reopened = observe(closed, { id: "a", state: "open", cancelWindowUntil: null }, now + w);
        expect(reopened.sound).toBe(true);
        expect(
          observe(reopened.state, { id: "a", state: "open", cancelWindowUntil: null }, now + w).sound,
        ).toBe(false);
      }),
    );
  });

  it("keeps alarms apart: one alarm's window never quiets or sounds another", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60_000 }), fc.integer({ min: 0, max: 120_000 }), (w, later) => {
        let s = observe(
          NO_SOUND_YET,
          { id: "fall", state: "open", cancelWindowUntil: new Date(T0 + w).toISOString() },
          T0,
        ).state;
        const sos = observe(s, { id: "sos", state: "open", cancelWindowUntil: null }, T0);
        expect(sos.sound).toBe(true);
        s = sos.state;
        const r = tick(s, T0 + later);
        expect(r.due).toEqual(later >= w ? ["fall"] : []);
      }),
    );
  });
});
