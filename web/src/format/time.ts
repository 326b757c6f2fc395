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

/** "21.11.2026, 03:04" style: date and time to the minute. */
export function formatDateTime(t: string | number | Date, timeZone: string, lang: Lang): string {
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
  return formatter(lang, timeZone, {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).format(toDate(t));
}

/** Time of day if it is the same day (in the zone) as `now`, date and time otherwise. */
export function formatWhen(t: string | number | Date, now: number, timeZone: string, lang: Lang): string {
  const day = formatter(lang, timeZone, { year: "numeric", month: "2-digit", day: "2-digit" });
  return day.format(toDate(t)) === day.format(new Date(now))
    ? formatTime(t, timeZone, lang)
    : formatDateTime(t, timeZone, lang);
}

/** "5 min", "2 h 5 min", "3 d": how long ago, for last contact. */
export function formatAge(fromMs: number, nowMs: number): string {
  const s = Math.max(0, Math.round((nowMs - fromMs) / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  return `${Math.floor(h / 24)} d`;
}
