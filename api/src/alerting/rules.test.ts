import { describe, expect, it } from "vitest";
import { localTime, scheduleActive } from "./rules";

describe("schedules in the organisation's time zone", () => {
  it("reads weekday and time in Europe/Oslo across daylight saving time", () => {
    // Winter: UTC+1. 2026-01-05 is a Monday.
    expect(localTime(new Date("2026-01-05T07:30:00Z"), "Europe/Oslo")).toEqual({
      weekday: 1,
      minutes: 8 * 60 + 30,
    });
    // Summer: UTC+2. 2026-07-05 is a Sunday.
    expect(localTime(new Date("2026-07-05T21:59:00Z"), "Europe/Oslo")).toEqual({
      weekday: 7,
      minutes: 23 * 60 + 59,
    });
    expect(localTime(new Date("2026-07-05T22:00:00Z"), "Europe/Oslo")).toEqual({ weekday: 1, minutes: 0 });
  });

  it("applies day windows, overnight windows and no schedule", () => {
    const weekdays = [{ days: [1, 2, 3, 4, 5], start: "08:00", end: "16:00" }];
    expect(scheduleActive(weekdays, new Date("2026-01-05T07:00:00Z"), "Europe/Oslo")).toBe(true); // Mon 08:00
    expect(scheduleActive(weekdays, new Date("2026-01-05T06:59:00Z"), "Europe/Oslo")).toBe(false); // Mon 07:59
    expect(scheduleActive(weekdays, new Date("2026-01-05T15:00:00Z"), "Europe/Oslo")).toBe(false); // Mon 16:00
    expect(scheduleActive(weekdays, new Date("2026-01-04T10:00:00Z"), "Europe/Oslo")).toBe(false); // Sunday
    // Friday night shift 22:00-06:00 covers Saturday 03:00 but not Sunday 03:00.
    const nights = [{ days: [5], start: "22:00", end: "06:00" }];
    expect(scheduleActive(nights, new Date("2026-01-09T21:00:00Z"), "Europe/Oslo")).toBe(true); // Fri 22:00
    expect(scheduleActive(nights, new Date("2026-01-10T02:00:00Z"), "Europe/Oslo")).toBe(true); // Sat 03:00
    expect(scheduleActive(nights, new Date("2026-01-11T02:00:00Z"), "Europe/Oslo")).toBe(false); // Sun 03:00
    expect(scheduleActive(null, new Date(), "Europe/Oslo")).toBe(true);
    // 15:30 UTC on a Monday: 16:30 in Oslo (after the window), 10:30 in New York (inside it).
    expect(scheduleActive(weekdays, new Date("2026-01-05T15:30:00Z"), "Europe/Oslo")).toBe(false);
    expect(scheduleActive(weekdays, new Date("2026-01-05T15:30:00Z"), "America/New_York")).toBe(true);
  });
});
