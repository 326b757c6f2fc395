import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { translate } from "../i18n/dict";
import {
  formatAge,
  formatDate,
  formatDateTime,
  formatNumber,
  formatTime,
  formatWhen,
  type Lang,
} from "./time";

const langs: Lang[] = ["nb", "en"];
const broken = /NaN|Invalid Date|undefined|null|\{/;

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

  it("says how long ago, in each language's own units", () => {
    const now = 10_000_000;
    expect(formatAge(now - 5_000, now, "nb")).toBe("5 sek");
    expect(formatAge(now - 5 * 60_000, now, "nb")).toBe("5 min");
    expect(formatAge(now - 125 * 60_000, now, "nb")).toBe("2 t 5 min");
    expect(formatAge(now - 72 * 3_600_000, now, "nb")).toBe("3 døgn");
    expect(formatAge(now - 125 * 60_000, now, "en")).toBe("2 hrs 5 mins");
    expect(formatAge(now - 24 * 3_600_000 * 2, now, "en")).toBe("2 days");
    expect(formatAge(now + 1000, now, "en")).toBe("0 secs");
    expect(formatAge(Number.NaN, now, "nb")).toBe("–");
  });

  it("never writes NaN, Invalid Date or undefined for any age, time or number", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...langs),
        fc.oneof(fc.double(), fc.integer({ min: -1e15, max: 1e15 })),
        fc.integer({ min: 0, max: 4e12 }),
        (lang, from, now) => {
          const texts = [
            formatAge(from, now, lang),
            formatNumber(from, lang),
            formatDateTime(from, "Europe/Oslo", lang),
            formatWhen(from, now, "Europe/Oslo", lang),
            formatTime(from, "Europe/Oslo", lang),
          ];
          for (const text of texts) expect(text).not.toMatch(broken);
          // Norwegian ages use Norwegian units, never the English "h" or "d".
          if (lang === "nb") expect(formatAge(from, now, lang)).not.toMatch(/\d (h|d|hr|days?)(\s|$)/);
        },
      ),
    );
  });

  it("writes birth dates as words, the same day in every zone, and leaves non-dates as they came", () => {
    expect(formatDate("1938-04-07", "nb")).toBe("7. april 1938");
    expect(formatDate("1938-04-07", "en")).toBe("7 April 1938");
    expect(formatDate("2023-02-30", "nb")).toBe("2023-02-30");
    fc.assert(
      fc.property(
        fc.constantFrom(...langs),
        fc.date({ min: new Date("1900-01-01"), max: new Date("2100-12-31"), noInvalidDate: true }),
        (lang, d) => {
          const iso = d.toISOString().slice(0, 10);
          const text = formatDate(iso, lang);
          expect(text).not.toMatch(broken);
          expect(text).not.toBe(iso);
          expect(text).toContain(String(d.getUTCFullYear()));
          expect(text).toContain(String(d.getUTCDate()));
        },
      ),
    );
    fc.assert(
      fc.property(fc.constantFrom(...langs), fc.string(), (lang, s) => {
        expect(formatDate(s, lang)).not.toMatch(/NaN|Invalid Date|undefined/);
      }),
    );
  });
});

describe("plurals", () => {
  it("agree with the count in both languages (no '1 recipients')", () => {
    expect(translate("en", "map.recipients", { count: 1 })).toBe("1 recipient on the map");
    expect(translate("en", "map.recipients", { count: 2 })).toBe("2 recipients on the map");
    expect(translate("en", "map.recipients", { count: 0 })).toBe("0 recipients on the map");
    expect(translate("nb", "map.recipients", { count: 1 })).toBe("1 tjenestemottaker på kartet");
    expect(translate("nb", "map.recipients", { count: 7 })).toBe("7 tjenestemottakere på kartet");
    expect(translate("nb", "looked.minutes", { n: 1 })).toBe("1 minutt");
  });

  it("fill every counted text for any count without NaN, undefined or a left-over placeholder", () => {
    const counted = [
      "map.recipients",
      "locator.none",
      "privacy.exportDays",
      "sound.seconds",
      "looked.withOthers",
      "looked.seconds",
      "looked.minutes",
      "looked.hours",
    ] as const;
    fc.assert(
      fc.property(fc.constantFrom(...langs), fc.constantFrom(...counted), fc.nat(100_000), (lang, key, n) => {
        const text = translate(lang, key, { count: n, n, hours: n, days: n });
        expect(text).not.toMatch(broken);
        expect(text).toContain(String(n));
        if (lang === "en" && n === 1) expect(text).not.toMatch(/\b1 \w+s\b/);
      }),
    );
  });
});
