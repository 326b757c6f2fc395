/** Times are shown in the organisation's time zone, whatever the browser's zone is. */
export type Lang = "nb" | "en";

const locales: Record<Lang, string> = { nb: "nb-NO", en: "en-GB" };
const cache = new Map<string, Intl.DateTimeFormat>();

function formatter(lang: Lang, timeZone: string, opts: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `${lang}|${timeZone}|${JSON.stringify(opts)}`;
  let f = cache.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locales[lang], { ...opts, timeZone });
    cache.set(key, f);
  }
  return f;
}

const toDate = (t: string | number | Date) => (t instanceof Date ? t : new Date(t));
/** A time that is not one (a missing or broken field) shows as a dash, never as "Invalid Date". */
const valid = (t: string | number | Date) => !Number.isNaN(toDate(t).getTime());

/** "21.11.2026, 03:04" style: date and time to the minute. */
export function formatDateTime(t: string | number | Date, timeZone: string, lang: Lang): string {
  if (!valid(t)) return "–";
  return formatter(lang, timeZone, {
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).format(toDate(t));
}

/** "03:04:05": the time of day, for things that happened tonight. */
export function formatTime(t: string | number | Date, timeZone: string, lang: Lang): string {
  if (!valid(t)) return "–";
  return formatter(lang, timeZone, {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).format(toDate(t));
}

/** Time of day if it is the same day (in the zone) as `now`, date and time otherwise. */
export function formatWhen(t: string | number | Date, now: number, timeZone: string, lang: Lang): string {
  if (!valid(t)) return "–";
  const day = formatter(lang, timeZone, { year: "numeric", month: "2-digit", day: "2-digit" });
  return day.format(toDate(t)) === day.format(new Date(now))
    ? formatTime(t, timeZone, lang)
    : formatDateTime(t, timeZone, lang);
}

const units = new Map<string, Intl.NumberFormat>();
function unit(
  lang: Lang,
  name: "second" | "minute" | "hour" | "day",
  display: "short" | "long",
): Intl.NumberFormat {
  const key = `${lang}|${name}|${display}`;
  let f = units.get(key);
  if (!f) {
    f = new Intl.NumberFormat(locales[lang], { style: "unit", unit: name, unitDisplay: display });
    units.set(key, f);
  }
  return f;
}

/**
 * How long ago, for last contact: "5 min", "2 t 5 min", "3 døgn" in Norwegian and
 * "5 min", "2 hr 5 min", "3 days" in English (Intl's units, not hand-written letters).
 * A time in the future (a device clock ahead) counts as now; a time that is not a number as unknown.
 */
export function formatAge(fromMs: number, nowMs: number, lang: Lang): string {
  const diff = nowMs - fromMs;
  if (!Number.isFinite(diff)) return "–";
  const s = Math.max(0, Math.round(diff / 1000));
  if (s < 60) return unit(lang, "second", "short").format(s);
  const m = Math.floor(s / 60);
  if (m < 60) return unit(lang, "minute", "short").format(m);
  const h = Math.floor(m / 60);
  if (h < 48) {
    const hours = unit(lang, "hour", "short").format(h);
    return m % 60 ? `${hours} ${unit(lang, "minute", "short").format(m % 60)}` : hours;
  }
  return unit(lang, "day", "long").format(Math.floor(h / 24));
}

/**
 * A calendar date ("1938-04-07", a birth date) as the language writes it: "7. april 1938",
 * "7 April 1938". It is a date, not an instant, so no time zone may move it a day.
 * Anything that is not a real date is shown as it came rather than as "Invalid Date".
 */
export function formatDate(isoDate: string, lang: Lang): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate);
  if (!m) return isoDate;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  if (Number.isNaN(d.getTime()) || d.getUTCDate() !== Number(m[3])) return isoDate;
  return formatter(lang, "UTC", { year: "numeric", month: "long", day: "numeric" }).format(d);
}

/** A number as the language writes it (thin spaces and commas in Norwegian). */
export function formatNumber(n: number, lang: Lang): string {
  return Number.isFinite(n) ? new Intl.NumberFormat(locales[lang]).format(n) : "–";
}

/** ISO weekday 1 (Monday) … 7 (Sunday) by name: "mandag" / "Monday", or "man." / "Mon" when short. */
export function formatWeekday(isoDay: number, lang: Lang, width: "long" | "short" = "long"): string {
  if (!Number.isInteger(isoDay) || isoDay < 1 || isoDay > 7) return "–";
  // 2024-01-01 was a Monday; the date is only a carrier for the weekday's name.
  return formatter(lang, "UTC", { weekday: width }).format(new Date(Date.UTC(2024, 0, isoDay)));
}

/** A schedule's days: "mandag–søndag" for the whole week, else the short names ("man., ons., fre."). */
export function formatWeekdays(days: readonly number[], lang: Lang): string {
  const sorted = [...new Set(days)].sort((a, b) => a - b);
  if (sorted.length === 7) return `${formatWeekday(1, lang)}–${formatWeekday(7, lang)}`;
  const run = sorted.length > 2 && sorted.every((d, i) => i === 0 || d === (sorted[i - 1] ?? 0) + 1);
  if (run) return `${formatWeekday(sorted[0] ?? 1, lang)}–${formatWeekday(sorted.at(-1) ?? 7, lang)}`;
  return sorted.map((d) => formatWeekday(d, lang, "short")).join(", ");
}
