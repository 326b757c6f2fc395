import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { windowSecondsLeft } from "./cancel-window";

describe("windowSecondsLeft", () => {
  it("counts down in whole seconds to the window's end and is null from then on", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4e12 }),
        fc.integer({ min: -700_000, max: 700_000 }),
        (now, d) => {
          const left = windowSecondsLeft(new Date(now + d).toISOString(), now);
          if (d <= 0) expect(left).toBeNull();
          else {
            expect(left).toBe(Math.ceil(d / 1000));
            expect(left).toBeGreaterThanOrEqual(1);
          }
        },
      ),
    );
  });
  it("is null without a window or with an unreadable one", () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(windowSecondsLeft(null, 0)).toBeNull();
        const left = windowSecondsLeft(s, 0);
        expect(left === null || left >= 1).toBe(true);
      }),
    );
  });
});
