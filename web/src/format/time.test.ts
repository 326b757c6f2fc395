import { describe, expect, it } from "vitest";
import { formatAge, formatDateTime, formatTime, formatWhen } from "./time";

// 2026-11-21 02:30 UTC is 03:30 in Oslo (winter time) and 21:30 the day before in New York.
const t = "2026-11-21T02:30:15Z";

describe("times in the organisation's time zone", () => {
  it("shows the zone's wall-clock time, not the browser's", () => {
    expect(formatTime(t, "Europe/Oslo", "nb")).toBe("03:30:15");
    expect(formatTime(t, "America/New_York", "en")).toBe("21:30:15");
  });

  it("handles summer time", () => {
    expect(formatTime("2026-07-01T12:00:00Z", "Europe/Oslo", "en")).toBe("14:00:00");
  });

  it("writes dates the Norwegian and the English way", () => {
    expect(formatDateTime(t, "Europe/Oslo", "nb")).toBe("21.11.2026, 03:30");
    expect(formatDateTime(t, "Europe/Oslo", "en")).toBe("21/11/2026, 03:30");
    expect(formatDateTime(t, "America/New_York", "en")).toBe("20/11/2026, 21:30");
  });

  it("leaves the date out for today in the zone", () => {
    const now = Date.parse("2026-11-21T05:00:00Z");
    expect(formatWhen(t, now, "Europe/Oslo", "nb")).toBe("03:30:15");
    expect(formatWhen(t, now, "America/New_York", "en")).toBe("20/11/2026, 21:30");
  });

  it("says how long ago", () => {
    const now = 10_000_000;
    expect(formatAge(now - 5_000, now)).toBe("5 s");
    expect(formatAge(now - 5 * 60_000, now)).toBe("5 min");
    expect(formatAge(now - 125 * 60_000, now)).toBe("2 h 5 min");
    expect(formatAge(now - 72 * 3_600_000, now)).toBe("3 d");
    expect(formatAge(now + 1000, now)).toBe("0 s");
  });
});
