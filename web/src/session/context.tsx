/** Who is logged in, in which organisation, and how they like the console: one React context. */
import type { MeResponse, Permission } from "@vakt/schemas";
import { createContext, useContext } from "react";
import { formatAge, formatDate, formatDateTime, formatNumber, formatWhen, type Lang } from "../format/time";
import { type MessageKey, translate } from "../i18n/messages";

export type Theme = "light" | "dark";

export interface Session {
  me: MeResponse;
  organisation: { id: string; name: string; timeZone: string };
}

export interface Ui {
  lang: Lang;
  theme: Theme;
  setLang(lang: Lang): void;
  setTheme(theme: Theme): void;
  t(key: MessageKey, vars?: Record<string, string | number>): string;
  /** Date and time in the organisation's zone. */
  dateTime(t: string | number): string;
  /** Time of day if today, else date and time, in the organisation's zone. */
  when(t: string | number): string;
  /** A calendar date (a birth date) written out in the language. */
  date(isoDate: string): string;
  /** How long ago, in the language's units. */
  age(fromMs: number): string;
  /** A number as the language writes it. */
  number(n: number): string;
}

export function makeUi(
  lang: Lang,
  theme: Theme,
  timeZone: string,
  setLang: (l: Lang) => void,
  setTheme: (t: Theme) => void,
): Ui {
  return {
    lang,
    theme,
    setLang,
    setTheme,
    t: (key, vars) => translate(lang, key, vars),
    dateTime: (t) => formatDateTime(t, timeZone, lang),
    when: (t) => formatWhen(t, Date.now(), timeZone, lang),
    date: (d) => formatDate(d, lang),
    age: (from) => formatAge(from, Date.now(), lang),
    number: (n) => formatNumber(n, lang),
  };
}

export const UiContext = createContext<Ui | null>(null);
export const SessionContext = createContext<Session | null>(null);

export function useUi(): Ui {
  const ui = useContext(UiContext);
  if (!ui) throw new Error("useUi outside UiContext");
  return ui;
}

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error("useSession outside a login");
  return s;
}

export function can(session: Session, permission: Permission): boolean {
  return session.me.permissions.includes(permission);
}

/** A locator may see positions only with a reason; readers may without. */
export function needsReason(session: Session): boolean {
  return !can(session, "position:read") && can(session, "position:locate");
}

/** Preferences are remembered per user in this browser. */
export interface Prefs {
  lang: Lang;
  theme: Theme;
}
const prefsKey = (userId: string | null) => `vakt.prefs.${userId ?? "anonymous"}`;

export function loadPrefs(userId: string | null): Prefs {
  const fallback: Prefs = {
    lang: navigator.language.startsWith("en") ? "en" : "nb",
    theme: matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light",
  };
  try {
    const raw = JSON.parse(localStorage.getItem(prefsKey(userId)) ?? "null") as Partial<Prefs> | null;
    return {
      lang: raw?.lang === "en" || raw?.lang === "nb" ? raw.lang : fallback.lang,
      theme: raw?.theme === "dark" || raw?.theme === "light" ? raw.theme : fallback.theme,
    };
  } catch {
    return fallback;
  }
}

export function savePrefs(userId: string | null, prefs: Prefs) {
  localStorage.setItem(prefsKey(userId), JSON.stringify(prefs));
  localStorage.setItem(prefsKey(null), JSON.stringify(prefs));
}
