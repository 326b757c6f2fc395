/**
 * The claim chooses an alarm's rule in SQL (rules.ts, scheduleActiveSql): its schedule check must
 * say what scheduleActive says, for any schedule, instant and time zone, across daylight saving.
 */
import { testServerUrl } from "@vakt/storage/testing";
import fc from "fast-check";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localTime, scheduleActive, scheduleActiveSql } from "./rules";

let client: pg.Client;
beforeAll(async () => {
  client = new pg.Client({ connectionString: testServerUrl() });
  await client.connect();
});
afterAll(async () => {
  await client?.end();
});

type Schedule = { days: number[]; start: string; end: string }[] | null;

async function sqlActive(schedule: Schedule, at: Date, timeZone: string): Promise<boolean> {
  const { rows } = await client.query<{ on: boolean }>(
    `SELECT ${scheduleActiveSql("$1::timestamptz")} AS on
       FROM (SELECT $2::jsonb AS schedule) r, (SELECT $3::text AS time_zone) o`,
    [at, schedule === null ? null : JSON.stringify(schedule), timeZone],
  );
  return rows[0]?.on as boolean;
}

// Minutes mostly on the quarter hours that instants fall on too, so window edges are met often.
const minute = fc.oneof(fc.constantFrom(0, 15, 30, 45), fc.integer({ min: 0, max: 59 }));
const hhmm = fc
  .oneof(fc.tuple(fc.integer({ min: 0, max: 23 }), minute), fc.constant([24, 0] as [number, number]))
  .map(([h, m]) => `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`);
const window = fc.record({
  days: fc.uniqueArray(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 7 }),
  start: hhmm,
  end: hhmm,
});
// Zones with daylight saving, half- and quarter-hour offsets, and the date line.
const zone = fc.constantFrom(
  "Europe/Oslo",
  "America/New_York",
  "America/St_Johns",
  "Asia/Kolkata",
  "Asia/Kathmandu",
  "Australia/Lord_Howe",
  "Pacific/Chatham",
  "Pacific/Kiritimati",
  "UTC",
);
// Any day over years of DST changes, at an hour and minute, with seconds that must not matter.
const instant = fc
  .tuple(
    fc.integer({ min: Date.UTC(2024, 0, 1) / 86_400_000, max: Date.UTC(2030, 11, 31) / 86_400_000 }),
    fc.integer({ min: 0, max: 23 }),
    minute,
    fc.integer({ min: 0, max: 59_999 }),
  )
  .map(([day, h, m, ms]) => new Date(day * 86_400_000 + (h * 60 + m) * 60_000 + ms));

describe("the rule's schedule in SQL", () => {
  it("agrees with scheduleActive for any schedule, instant and time zone", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.option(fc.array(window, { minLength: 1, maxLength: 3 }), { nil: null }),
        instant,
        zone,
        async (schedule, at, tz) => {
          expect(await sqlActive(schedule, at, tz)).toBe(scheduleActive(schedule, at, tz));
        },
      ),
      { numRuns: 600 },
    );
  });

  it("agrees at a window's start and end, a minute either side, in any zone", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(window, { minLength: 1, maxLength: 3 }),
        instant,
        zone,
        fc.nat(),
        fc.constantFrom("start" as const, "end" as const),
        fc.constantFrom(-1, 0, 1),
        async (schedule, base, tz, pick, edge, delta) => {
          // Moved to that local minute of the day (a DST jump may move it by the jump: still an instant).
          const w = schedule[pick % schedule.length] as (typeof schedule)[number];
          const target = Number(w[edge].slice(0, 2)) * 60 + Number(w[edge].slice(3, 5));
          const at = new Date(base.getTime() + (target - localTime(base, tz).minutes + delta) * 60_000);
          expect(await sqlActive(schedule, at, tz)).toBe(scheduleActive(schedule, at, tz));
        },
      ),
      { numRuns: 400 },
    );
  });

  it("at the edges: window start and end, overnight windows, a DST change, an empty zone", async () => {
    const weekdays = [{ days: [1, 2, 3, 4, 5], start: "08:00", end: "16:00" }];
    const nights = [{ days: [5], start: "22:00", end: "06:00" }];
    const cases: [Schedule, string, string][] = [
      [weekdays, "2026-01-05T07:00:00Z", "Europe/Oslo"], // Mon 08:00: on
      [weekdays, "2026-01-05T06:59:59.999Z", "Europe/Oslo"], // Mon 07:59: off
      [weekdays, "2026-01-05T15:00:00Z", "Europe/Oslo"], // Mon 16:00: off
      [nights, "2026-01-10T02:00:00Z", "Europe/Oslo"], // Sat 03:00 in Friday's night: on
      [nights, "2026-01-11T02:00:00Z", "Europe/Oslo"], // Sun 03:00: off
      [weekdays, "2026-03-30T06:00:00Z", "Europe/Oslo"], // Mon after the spring change, 08:00 CEST: on
      [weekdays, "2026-03-30T06:00:00Z", ""], // no zone: Europe/Oslo
      [[{ days: [1], start: "00:00", end: "24:00" }], "2026-01-05T22:59:00Z", "Europe/Oslo"], // Mon 23:59
      [null, "2026-01-05T07:00:00Z", "Europe/Oslo"],
    ];
    for (const [schedule, at, tz] of cases) {
      const when = new Date(at);
      expect(await sqlActive(schedule, when, tz), `${at} ${tz}`).toBe(
        scheduleActive(schedule, when, tz || "Europe/Oslo"),
      );
    }
  });
});
