import { describe, expect, it } from "vitest";
import { ManualClock, scaledClock } from "./clock";

describe("manual clock", () => {
  it("moves only when advanced and fires due timers in time order", () => {
    const clock = new ManualClock(1_000_000);
    const fired: string[] = [];
    clock.every(300, () => fired.push(`a@${clock.now()}`));
    clock.every(500, () => fired.push(`b@${clock.now()}`));
    expect(clock.now()).toBe(1_000_000);
    clock.advance(1000);
    expect(fired).toEqual(["a@1000300", "b@1000500", "a@1000600", "a@1000900", "b@1001000"]);
    expect(clock.now()).toBe(1_001_000);
  });

  it("stops firing once cancelled", () => {
    const clock = new ManualClock(0);
    let n = 0;
    const cancel = clock.every(100, () => n++);
    clock.advance(250);
    cancel();
    clock.advance(1000);
    expect(n).toBe(2);
  });

  it("refuses a zero interval", () => {
    expect(() => new ManualClock().every(0, () => {})).toThrow();
  });
});

describe("scaled clock", () => {
  it("starts where it is told and never runs backwards", () => {
    const clock = scaledClock(60, 5_000);
    const a = clock.now();
    const b = clock.now();
    expect(a).toBeGreaterThanOrEqual(5_000);
    expect(b).toBeGreaterThanOrEqual(a);
    expect(() => scaledClock(0)).toThrow();
  });
});
